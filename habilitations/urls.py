"""The catalogue of services, requests and access (/espace/services/…)."""

app_name = "services"
urlpatterns = []
