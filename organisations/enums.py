from django.db import models
from django.utils.translation import gettext_lazy as _


class MembershipStatus(models.TextChoices):
    PENDING_STAFF = "pending_staff", _("en attente de validation par l'opérateur")
    # R1 and R3 (delegated administration) add their pending states here.
    APPROVED = "approved", _("validée")
    REFUSED = "refused", _("refusée")


class OnboardingRule(models.TextChoices):
    R1_ORGANISATION_ADMIN = "R1", _("R1 — validation par l'administrateur de la structure")
    R2_TRUSTED_DOMAIN = "R2", _("R2 — domaine de confiance")
    R3_DELEGATED_ADMIN = "R3", _("R3 — premier administrateur, courrier au représentant légal")
    R4_STAFF_VALIDATION = "R4", _("R4 — validation par l'opérateur")


class TrustKind(models.TextChoices):
    SIREN = "siren", _("SIREN")
    LEGAL_CATEGORY = "legal_category", _("catégorie juridique")
    EMAIL_DOMAIN = "email_domain", _("domaine de messagerie d'une organisation")
