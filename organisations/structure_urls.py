"""The member's pages about each of their structures (/espace/structures/<pk>/…)."""

from django.urls import path

from organisations import structure_views as views

app_name = "structures"
urlpatterns = [
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/telephone/", views.change_phone, name="phone"),
    path("<int:pk>/adresse-electronique/", views.change_email, name="email"),
    path("<int:pk>/adresse-electronique/confirmer/", views.confirm_email, name="email_confirm"),
    path("<int:pk>/fonction/", views.change_function, name="function"),
    path("<int:pk>/supprimer/", views.detach, name="detach"),
]
