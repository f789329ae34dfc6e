from django.db import models
from django.utils.translation import gettext_lazy as _


class HabilitationStatus(models.TextChoices):
    REQUESTED = "requested", _("en cours de validation")
    VALIDATED = "validated", _("validée")
    REFUSED = "refused", _("refusée")
    DEACTIVATED = "deactivated", _("désactivée")
