"""A member's pages about one of their organisations (/structures/<siren>/…)."""

from django.urls import include, path

from organisations import views

urlpatterns = [
    path("<str:siren>/activation/", views.admin_activation, name="admin_activation"),
    path("<str:siren>/devenir-administrateur/", views.admin_role_offer, name="admin_role_offer"),
    path("<str:siren>/gestion/", include("organisations.gestion_urls")),
]
