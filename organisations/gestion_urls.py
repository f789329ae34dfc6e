"""The organisation admin's pages (/structures/<siren>/gestion/…)."""

from django.urls import path

from organisations import gestion_views as views

app_name = "gestion"
urlpatterns = [
    path("", views.home, name="home"),
    path("membres/<int:pk>/", views.member_detail, name="member"),
    path("membres/<int:pk>/valider/", views.approve, name="approve_member"),
    path("membres/<int:pk>/refuser/", views.refuse, name="refuse_member"),
    path("membres/<int:pk>/services/", views.change_services, name="member_services"),
    path("membres/<int:pk>/desactiver/", views.deactivate, name="deactivate_member"),
    path("membres/<int:pk>/reactiver/", views.reactivate, name="reactivate_member"),
    path("membres/<int:pk>/administrateur/", views.hand_over, name="hand_over_admin_role"),
    path("demandes/<int:pk>/valider/", views.validate_request, name="validate_request"),
    path("demandes/<int:pk>/refuser/", views.refuse_request, name="refuse_request"),
]
