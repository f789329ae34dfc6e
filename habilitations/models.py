"""Habilitations: a user's rights, in one organisation, on one of the operator's services."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from habilitations.enums import HabilitationStatus
from portal import audit


class Service(models.Model):
    """One of the operator's online services ("Création de demandes de prêts", "Documents"…)."""

    name = models.CharField(_("nom"), max_length=150, unique=True)
    description = models.TextField(_("description"), blank=True)
    requires_function = models.BooleanField(
        _("fonction requise"),
        default=False,
        help_text=_("Le demandeur doit avoir indiqué sa fonction dans la structure."),
    )
    url = models.URLField(_("adresse du service"), blank=True)
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)
    is_active = models.BooleanField(_("proposé"), default=True)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["position", "name"]

    def __str__(self):
        return self.name


class InvalidTransition(Exception):
    """A change of state the habilitation's life does not allow (validated → requested…)."""


class Habilitation(models.Model):
    """The right of one member of an organisation on one service, and where its request stands.

    Its state changes only through ``transition()`` (and the verbs below), which refuses what
    TRANSITIONS does not allow, whoever calls it, and records who, when and why.
    """

    TRANSITIONS = {
        HabilitationStatus.REQUESTED: {HabilitationStatus.VALIDATED, HabilitationStatus.REFUSED},
        HabilitationStatus.VALIDATED: {HabilitationStatus.DEACTIVATED},
        HabilitationStatus.DEACTIVATED: {HabilitationStatus.VALIDATED, HabilitationStatus.REQUESTED},
        HabilitationStatus.REFUSED: {HabilitationStatus.REQUESTED, HabilitationStatus.VALIDATED},
    }

    membership = models.ForeignKey(
        "organisations.Membership",
        verbose_name=_("inscription"),
        on_delete=models.CASCADE,
        related_name="habilitations",
    )
    service = models.ForeignKey(
        Service, verbose_name=_("service"), on_delete=models.PROTECT, related_name="habilitations"
    )
    status = models.CharField(
        _("état"), max_length=20, choices=HabilitationStatus.choices, default=HabilitationStatus.REQUESTED
    )
    created_at = models.DateTimeField(_("demandée le"), default=timezone.now)
    changed_at = models.DateTimeField(_("modifiée le"), default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("modifiée par"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.TextField(_("motif"), blank=True)

    class Meta:
        verbose_name = _("habilitation")
        verbose_name_plural = _("habilitations")
        ordering = ["membership", "service__position", "service__name"]
        constraints = [
            models.UniqueConstraint(fields=["membership", "service"], name="hab_one_per_service"),
            models.CheckConstraint(
                condition=~models.Q(status=HabilitationStatus.REFUSED) | ~models.Q(reason=""),
                name="hab_refusal_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="hab_status_idx")]

    def __str__(self):
        return f"{self.service} — {self.membership}"

    def can_become(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, set())

    def transition(self, status: str, *, by, reason: str = "", request=None) -> "HabilitationEvent":
        """Move to ``status``, or raise InvalidTransition; the row is saved and the step recorded."""
        status = HabilitationStatus(status)
        reason = (reason or "").strip()
        if not self.can_become(status):
            raise InvalidTransition(
                _("Une habilitation « %(from)s » ne peut pas devenir « %(to)s ».")
                % {"from": self.get_status_display(), "to": status.label}
            )
        if status == HabilitationStatus.REFUSED and not reason:
            raise InvalidTransition(_("Un refus doit être motivé."))
        previous = self.status
        self.status = status
        self.changed_at = timezone.now()
        self.changed_by = by
        self.reason = reason
        self.save(update_fields=["status", "changed_at", "changed_by", "reason"])
        event = HabilitationEvent.objects.create(
            habilitation=self,
            from_status=previous,
            to_status=status,
            by=by,
            at=self.changed_at,
            reason=reason,
        )
        audit.record(
            f"habilitation.{status}",
            actor=by,
            target=self,
            request=request,
            details={"from": previous, "service": self.service.name, "reason": reason},
        )
        return event

    def validate(self, *, by, reason="", request=None):
        return self.transition(HabilitationStatus.VALIDATED, by=by, reason=reason, request=request)

    def refuse(self, *, by, reason, request=None):
        return self.transition(HabilitationStatus.REFUSED, by=by, reason=reason, request=request)

    def deactivate(self, *, by, reason="", request=None):
        return self.transition(HabilitationStatus.DEACTIVATED, by=by, reason=reason, request=request)

    def request_again(self, *, by, reason="", request=None):
        return self.transition(HabilitationStatus.REQUESTED, by=by, reason=reason, request=request)


class HabilitationEvent(models.Model):
    """One step of a habilitation's life: from which state to which, by whom, when and why."""

    habilitation = models.ForeignKey(Habilitation, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(
        _("état précédent"), max_length=20, choices=HabilitationStatus.choices, blank=True
    )
    to_status = models.CharField(_("nouvel état"), max_length=20, choices=HabilitationStatus.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("par"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("le"), default=timezone.now)
    reason = models.TextField(_("motif"), blank=True)

    class Meta:
        verbose_name = _("étape d'une habilitation")
        verbose_name_plural = _("étapes des habilitations")
        ordering = ["habilitation", "at", "id"]

    def __str__(self):
        return f"{self.habilitation}: {self.from_status} → {self.to_status}"


class ServiceConditions(models.Model):
    """A version of a service's conditions particulières d'utilisation. The latest published one
    is the service's current conditions: a user accepts it at their first access, and again when
    staff publish a new version."""

    service = models.ForeignKey(
        Service, verbose_name=_("service"), on_delete=models.PROTECT, related_name="conditions"
    )
    version = models.CharField(_("version"), max_length=20, help_text=_("Par exemple : 2026-01."))
    text = models.TextField(_("texte"))
    published_at = models.DateTimeField(_("publiée le"), default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("publiée par"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("conditions particulières")
        verbose_name_plural = _("conditions particulières")
        ordering = ["service", "-published_at", "-id"]
        get_latest_by = ["published_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["service", "version"], name="hab_conditions_version_unique")
        ]

    def __str__(self):
        return f"{self.service} — {self.version}"


class ConditionsAcceptance(models.Model):
    """A user accepted a version of a service's conditions particulières."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conditions_acceptances"
    )
    conditions = models.ForeignKey(ServiceConditions, on_delete=models.PROTECT, related_name="acceptances")
    accepted_at = models.DateTimeField(_("acceptées le"), default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("acceptation des conditions particulières")
        verbose_name_plural = _("acceptations des conditions particulières")
        constraints = [models.UniqueConstraint(fields=["user", "conditions"], name="hab_acceptance_once")]

    def __str__(self):
        return f"{self.user} — {self.conditions}"
