from django.db import models
from django.utils.translation import gettext_lazy as _


class MembershipStatus(models.TextChoices):
    PENDING_STAFF = "pending_staff", _("en attente de validation par l'opérateur")
    PENDING_ADMIN = "pending_admin", _("en attente de validation par l'administrateur de la structure")
    PENDING_ACTIVATION = "pending_activation", _("en attente du code d'activation")
    APPROVED = "approved", _("validée")
    REFUSED = "refused", _("refusée")
    DEACTIVATED = "deactivated", _("désactivée")
    LAPSED = "lapsed", _("expirée")
    DETACHED = "detached", _("structure supprimée par l'utilisateur")


class OnboardingRule(models.TextChoices):
    R1_ORGANISATION_ADMIN = "R1", _("R1 — validation par l'administrateur de la structure")
    R2_TRUSTED_DOMAIN = "R2", _("R2 — domaine de confiance")
    R3_DELEGATED_ADMIN = "R3", _("R3 — premier administrateur, courrier au représentant légal")
    R4_STAFF_VALIDATION = "R4", _("R4 — validation par l'opérateur")


class TrustKind(models.TextChoices):
    SIREN = "siren", _("SIREN")
    LEGAL_CATEGORY = "legal_category", _("catégorie juridique")
    EMAIL_DOMAIN = "email_domain", _("domaine de messagerie d'une organisation")


class AdminClaimStatus(models.TextChoices):
    """A request for the admin role of an organisation, confirmed by the letter's code (R3)."""

    PENDING = "pending", _("en attente du code")
    BLOCKED = "blocked", _("code bloqué après trop d'essais")
    ACTIVATED = "activated", _("activée")
    LAPSED = "lapsed", _("expirée")


# A claim that still holds the organisation: later applicants wait for it (R1).
OPEN_CLAIM_STATUSES = [AdminClaimStatus.PENDING, AdminClaimStatus.BLOCKED]
