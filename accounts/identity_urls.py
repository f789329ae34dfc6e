"""Identité et sécurité (/espace/identite/)."""

from django.urls import path

from accounts import identity

urlpatterns = [
    path("", identity.identity, name="identity"),
]
