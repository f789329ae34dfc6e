from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from habilitations import views as habilitation_views
from organisations import api as organisation_api
from organisations import views as organisation_views
from portal import views

admin.site.site_header = _("Administration du portail")
admin.site.site_title = _("Administration du portail")

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("inscription/", include("accounts.signup_urls")),
    path("captcha/", include("captcha.urls")),
    path("conditions-generales/", views.cgu, name="cgu"),
    path("api/organisations", organisation_api.organisations, name="api_organisations"),
    path("structures/", include("organisations.urls")),
    path("espace/", habilitation_views.dashboard, name="dashboard"),
    path("espace/identite/", include("accounts.identity_urls")),
    path("espace/structures/ajouter/", organisation_views.add_structure, name="add_structure"),
    path("espace/structures/", include("organisations.structure_urls")),
    path("espace/services/", include("habilitations.urls")),
    path("", include("accounts.urls")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    urlpatterns += [path("dev/mailbox/", include("mailings.dev_urls"))]
