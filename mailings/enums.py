from django.db import models
from django.utils.translation import gettext_lazy as _


class EmailStatus(models.TextChoices):
    PENDING = "pending", _("à envoyer")
    SENT = "sent", _("envoyé")
    FAILED = "failed", _("échec")


class LetterStatus(models.TextChoices):
    TO_PRINT = "to_print", _("à imprimer")
    SENT = "sent", _("envoyé")
    CANCELLED = "cancelled", _("annulé")
