"""The member's pages about each of their structures (/espace/structures/<pk>/…)."""

app_name = "structures"
urlpatterns = []
