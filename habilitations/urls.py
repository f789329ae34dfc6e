"""The catalogue of services, requests and access (/espace/services/…)."""

from django.urls import path

from habilitations import catalogue_views as views

app_name = "services"
urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("<int:pk>/demander/", views.request_service, name="request"),
    path("<int:pk>/acces/", views.open_service, name="open"),
]
