"""The forms of the organisation admin's pages (organisations/gestion_views.py)."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from habilitations.enums import HabilitationStatus
from habilitations.models import Habilitation, Service
from organisations.members import REFUSED_SERVICES_NEED_A_REASON
from portal.forms import PortalForm

REASON_MAX_LENGTH = 2000


def _services_field(label, help_text):
    return forms.ModelMultipleChoiceField(
        label=label,
        help_text=help_text,
        queryset=Service.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


def _reason_field(label, help_text, *, required=True):
    return forms.CharField(
        label=label,
        required=required,
        max_length=REASON_MAX_LENGTH,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class MemberServicesForm(PortalForm):
    """The services a member holds once the form is sent: checked ones are granted, requested
    ones left unchecked are refused (with a reason), validated ones unchecked are withdrawn.

    Offers the active services of the catalogue, and those the member holds or asked for even if
    the catalogue no longer offers them, so that sending the form never drops one unseen.
    """

    services = _services_field(
        _("Services"),
        _(
            "Les services cochés sont accordés au membre. Décochez un service pour le lui retirer ou "
            "pour refuser sa demande."
        ),
    )
    reason = _reason_field(
        _("Motif"),
        _(
            "Obligatoire si vous n'accordez pas un service demandé ; donné aussi pour les services "
            "retirés. Il est envoyé au membre."
        ),
        required=False,
    )

    def __init__(self, *args, habilitations: list[Habilitation], **kwargs):
        self.habilitations = {habilitation.service_id: habilitation for habilitation in habilitations}
        kept = [
            service_id
            for service_id, habilitation in self.habilitations.items()
            if habilitation.status in (HabilitationStatus.REQUESTED, HabilitationStatus.VALIDATED)
        ]
        kwargs.setdefault("initial", {"services": kept})
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = Service.objects.filter(Q(is_active=True) | Q(pk__in=kept))

    def service_options(self) -> list[tuple]:
        """The checkboxes of the services, each with the member's current state of it (or "")."""
        return [
            (option, self.state_hint(self.habilitations.get(option.data["value"].value)))
            for option in self["services"]
        ]

    def state_hint(self, habilitation: Habilitation | None) -> str:
        if habilitation is None:
            return ""
        return _("État actuel : %(state)s") % {"state": habilitation.get_status_display()}

    def clean(self):
        cleaned = super().clean()
        if "services" not in cleaned or cleaned.get("reason"):
            return cleaned
        chosen = {service.pk for service in cleaned["services"]}
        if any(
            habilitation.status == HabilitationStatus.REQUESTED and service_id not in chosen
            for service_id, habilitation in self.habilitations.items()
        ):
            self.add_error("reason", REFUSED_SERVICES_NEED_A_REASON)
        return cleaned


class RefusalForm(PortalForm):
    reason = _reason_field(_("Motif du refus"), _("Il est envoyé à la personne concernée."))


class DeactivationForm(PortalForm):
    deactivation_reason = _reason_field(
        _("Motif de la désactivation"), _("Il est envoyé au membre."), required=False
    )


class ApprovalForm(MemberServicesForm):
    """The services granted with a registration: the requested ones, changed as the admin sees fit."""

    services = _services_field(
        _("Services accordés"),
        _(
            "Les services demandés sont cochés. Décochez ceux que vous n'accordez pas, cochez ceux que "
            "vous accordez en plus."
        ),
    )
    reason = _reason_field(
        _("Motif du refus des services non accordés"),
        _("Obligatoire si vous n'accordez pas un service demandé : il est envoyé au demandeur."),
        required=False,
    )

    def state_hint(self, habilitation: Habilitation | None) -> str:
        # The requested services are the checked ones: only an older state needs telling.
        if habilitation is None or habilitation.status == HabilitationStatus.REQUESTED:
            return ""
        return super().state_hint(habilitation)
