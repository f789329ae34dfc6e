"""Identité et sécurité (/espace/identite/)."""

urlpatterns = []
