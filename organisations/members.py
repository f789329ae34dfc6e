"""What an organisation's admin decides about its members (DESIGN §6, bdt-services CAS 2).

Registrations waiting for the admin (rule R1), the services the members hold, deactivation and
reactivation, and handing the admin role over.

Every operation first locks the organisation's LegalUnit row, as organisations.delegation does for
the admin role: decisions about one organisation run one after the other, and the acting admin is
checked under that lock, so an admin who has just handed the role over decides nothing more. The
memberships and habilitations concerned are then locked and their state checked again: a decision
that no longer applies (the registration was refused meanwhile in another tab) raises MemberError
and changes nothing.

Habilitations change state only through their own transitions (habilitations.models), which record
and audit each step. These services add one audit entry for the whole decision and e-mail the person
concerned, in the same transaction.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import absolute_url, send_access_link
from habilitations.enums import HabilitationStatus
from habilitations.models import Habilitation, Service
from habilitations.services import request_habilitations
from mailings.services import queue_email
from organisations.delegation import lock_organisation
from organisations.enums import MembershipStatus
from organisations.models import Membership
from portal import audit


class MemberError(Exception):
    """A decision the admin cannot make (or no longer): the message is shown to them, in French."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class ServiceChanges:
    """What a decision on a member's services changed."""

    granted: list[Habilitation] = field(default_factory=list)  # now validated
    refused: list[Habilitation] = field(default_factory=list)  # requested, refused
    removed: list[Habilitation] = field(default_factory=list)  # were validated, now deactivated

    def __bool__(self) -> bool:
        return bool(self.granted or self.refused or self.removed)

    def summary(self) -> dict:
        return {
            "granted": _service_names(self.granted),
            "refused": _service_names(self.refused),
            "removed": _service_names(self.removed),
        }


def _service_names(habilitations: Iterable[Habilitation]) -> list[str]:
    return [habilitation.service.name for habilitation in habilitations]


def _by_catalogue_order(habilitation: Habilitation):
    return (habilitation.service.position, habilitation.service.name)


# Locks and checks --------------------------------------------------------------------------------


def _lock_organisation(siren: str, *, by) -> Membership:
    """Lock the organisation; the acting admin's membership, or MemberError if ``by`` is not (or
    no longer) its admin."""
    lock_organisation(siren)
    admin = Membership.objects.filter(
        legal_unit_id=siren, user=by, is_admin=True, status=MembershipStatus.APPROVED
    ).first()
    if admin is None:
        raise MemberError(_("Vous n'êtes pas (ou plus) l'administrateur de cette structure."))
    return admin


def _lock_membership(membership: Membership, *, status: MembershipStatus) -> Membership:
    """The membership read again under lock, if it still is in ``status``."""
    membership = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user", "legal_unit")
        .get(pk=membership.pk)
    )
    if membership.status != status:
        raise MemberError(
            _("L'inscription de %(user)s est désormais « %(status)s » : cette décision ne s'applique plus.")
            % {"user": membership.user, "status": membership.get_status_display()}
        )
    return membership


def _locked_habilitations(membership: Membership) -> dict[int, Habilitation]:
    """The member's habilitations, locked, by service id."""
    rows = (
        Habilitation.objects.select_for_update(of=("self",))
        .select_related("service")
        .filter(membership=membership)
    )
    return {habilitation.service_id: habilitation for habilitation in rows}


def _required_reason(reason: str, message: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise MemberError(message)
    return reason


REFUSED_SERVICES_NEED_A_REASON = gettext_lazy(
    "Indiquez le motif du refus des services demandés que vous n'accordez pas : il est envoyé au membre."
)


# Services of a member ----------------------------------------------------------------------------


def _grant(membership: Membership, service: Service, habilitation: Habilitation | None, *, by, request):
    if habilitation is None:
        # A service the member did not ask for: requested on their behalf, then validated, so
        # that its history starts as every other one does.
        request_habilitations(membership=membership, services=[service], by=by, request=request)
        habilitation = (
            Habilitation.objects.select_for_update(of=("self",))
            .select_related("service")
            .get(membership=membership, service=service)
        )
    if habilitation.status == HabilitationStatus.VALIDATED:
        return None
    habilitation.validate(by=by, request=request)
    return habilitation


def _apply_services(membership: Membership, services: Iterable[Service], *, by, reason: str, request):
    """Make ``services`` exactly the member's validated services.

    Validated ones left out are deactivated; requested ones are validated if chosen, refused
    otherwise (with ``reason``, required then); chosen ones refused, deactivated or never asked
    for are validated, if the catalogue still offers them.
    """
    held = _locked_habilitations(membership)
    chosen = {service.pk: service for service in services}
    reason = (reason or "").strip()
    if not reason and any(
        habilitation.status == HabilitationStatus.REQUESTED and service_id not in chosen
        for service_id, habilitation in held.items()
    ):
        raise MemberError(str(REFUSED_SERVICES_NEED_A_REASON))
    for service in chosen.values():
        pending_or_held = service.pk in held and held[service.pk].status in (
            HabilitationStatus.REQUESTED,
            HabilitationStatus.VALIDATED,
        )
        if not service.is_active and not pending_or_held:
            raise MemberError(_("Le service « %(service)s » n'est plus proposé.") % {"service": service})
    changes = ServiceChanges()
    for service in sorted(chosen.values(), key=lambda service: (service.position, service.name)):
        granted = _grant(membership, service, held.get(service.pk), by=by, request=request)
        if granted is not None:
            changes.granted.append(granted)
    for habilitation in sorted(held.values(), key=_by_catalogue_order):
        if habilitation.service_id in chosen:
            continue
        if habilitation.status == HabilitationStatus.VALIDATED:
            habilitation.deactivate(by=by, reason=reason, request=request)
            changes.removed.append(habilitation)
        elif habilitation.status == HabilitationStatus.REQUESTED:
            habilitation.refuse(by=by, reason=reason, request=request)
            changes.refused.append(habilitation)
    return changes


def _validated_services(membership: Membership) -> list[str]:
    return list(
        membership.habilitations.filter(status=HabilitationStatus.VALIDATED)
        .order_by("service__position", "service__name")
        .values_list("service__name", flat=True)
    )


# E-mails -----------------------------------------------------------------------------------------


def _email_member(membership: Membership, template: str, *, request=None, **context) -> None:
    queue_email(
        to=membership.email,
        template=f"member_{template}",
        context={
            "membership": membership,
            "organisation": membership.legal_unit.denomination or membership.legal_unit.siren,
            "operator": settings.PORTAL_OPERATOR_NAME,
            "login_url": absolute_url(reverse("login"), request),
            **context,
        },
    )


# Registrations waiting for the admin (rule R1) ---------------------------------------------------


@transaction.atomic
def approve_member(
    *, membership: Membership, by, services: Iterable[Service], reason: str = "", request=None
) -> Membership:
    """Approve a registration waiting for the admin, granting exactly ``services``.

    The admin may change what was asked: requested services left out are refused (``reason``
    required then), services added are granted. The member is e-mailed the decision; one without
    a password also receives the link to choose it ("accès technique").
    """
    _lock_organisation(membership.legal_unit_id, by=by)
    membership = _lock_membership(membership, status=MembershipStatus.PENDING_ADMIN)
    changes = _apply_services(membership, services, by=by, reason=reason, request=request)
    membership.status = MembershipStatus.APPROVED
    membership.decided_at = timezone.now()
    membership.decided_by = by
    membership.save(update_fields=["status", "decided_at", "decided_by"])
    reason = (reason or "").strip() if changes.refused else ""
    audit.record(
        "membership.approved",
        actor=by,
        target=membership,
        request=request,
        details={"decided_as": "organisation_admin", **changes.summary(), "reason": reason},
    )
    _email_member(
        membership,
        "approved",
        request=request,
        granted=_validated_services(membership),
        refused=_service_names(changes.refused),
        reason=reason,
        needs_password=not membership.user.has_usable_password(),
    )
    if not membership.user.has_usable_password():
        send_access_link(user=membership.user, request=request)
    return membership


@transaction.atomic
def refuse_member(*, membership: Membership, by, reason: str, request=None) -> Membership:
    """Refuse a registration waiting for the admin; its requested services are refused too.
    The reason is required: the applicant receives it."""
    reason = _required_reason(reason, _("Indiquez le motif du refus : il est envoyé au demandeur."))
    _lock_organisation(membership.legal_unit_id, by=by)
    membership = _lock_membership(membership, status=MembershipStatus.PENDING_ADMIN)
    membership.status = MembershipStatus.REFUSED
    membership.decided_at = timezone.now()
    membership.decided_by = by
    membership.refusal_reason = reason
    membership.save(update_fields=["status", "decided_at", "decided_by", "refusal_reason"])
    refused = [
        habilitation
        for habilitation in sorted(_locked_habilitations(membership).values(), key=_by_catalogue_order)
        if habilitation.status == HabilitationStatus.REQUESTED
    ]
    for habilitation in refused:
        habilitation.refuse(by=by, reason=reason, request=request)
    audit.record(
        "membership.refused",
        actor=by,
        target=membership,
        request=request,
        details={"decided_as": "organisation_admin", "refused": _service_names(refused), "reason": reason},
    )
    _email_member(membership, "refused", request=request, reason=reason)
    return membership


# Approved members --------------------------------------------------------------------------------


@transaction.atomic
def set_member_services(
    *, membership: Membership, by, services: Iterable[Service], reason: str = "", request=None
) -> ServiceChanges:
    """Make ``services`` exactly the services an approved member holds (see _apply_services).

    Pending requests left out are refused, with ``reason`` (required then); the reason is also
    given for the services withdrawn. Nothing changed: no e-mail, no audit entry.
    """
    _lock_organisation(membership.legal_unit_id, by=by)
    membership = _lock_membership(membership, status=MembershipStatus.APPROVED)
    changes = _apply_services(membership, services, by=by, reason=reason, request=request)
    if not changes:
        return changes
    reason = (reason or "").strip() if (changes.refused or changes.removed) else ""
    audit.record(
        "membership.services_changed",
        actor=by,
        target=membership,
        request=request,
        details={**changes.summary(), "reason": reason},
    )
    _email_member(
        membership,
        "services_changed",
        request=request,
        **changes.summary(),
        current=_validated_services(membership),
        reason=reason,
    )
    return changes


@transaction.atomic
def decide_habilitation(
    *, habilitation: Habilitation, by, accept: bool, reason: str = "", request=None
) -> Habilitation:
    """Validate or refuse (with a reason) one pending request of an approved member.

    The requests of a registration still waiting for the admin are decided with it (approve_member).
    The audit entry is the habilitation's own (habilitation.validated / habilitation.refused).
    """
    if not accept:
        reason = _required_reason(reason, _("Indiquez le motif du refus : il est envoyé au membre."))
    siren = Membership.objects.values_list("legal_unit_id", flat=True).get(pk=habilitation.membership_id)
    _lock_organisation(siren, by=by)
    membership = _lock_membership(Membership(pk=habilitation.membership_id), status=MembershipStatus.APPROVED)
    habilitation = (
        Habilitation.objects.select_for_update(of=("self",)).select_related("service").get(pk=habilitation.pk)
    )
    if habilitation.status != HabilitationStatus.REQUESTED:
        raise MemberError(
            _("La demande du service « %(service)s » a déjà été traitée (%(status)s).")
            % {"service": habilitation.service, "status": habilitation.get_status_display()}
        )
    if accept:
        habilitation.validate(by=by, request=request)
    else:
        habilitation.refuse(by=by, reason=reason, request=request)
    _email_member(
        membership,
        "habilitation_decided",
        request=request,
        service=habilitation.service.name,
        accepted=accept,
        reason=habilitation.reason,
    )
    return habilitation


@transaction.atomic
def deactivate_member(*, membership: Membership, by, reason: str = "", request=None) -> Membership:
    """Deactivate an approved member and the services they hold. The admin cannot deactivate
    themselves: they hand the role over first."""
    reason = (reason or "").strip()
    _lock_organisation(membership.legal_unit_id, by=by)
    membership = _lock_membership(membership, status=MembershipStatus.APPROVED)
    if membership.is_admin:
        raise MemberError(
            _(
                "Vous ne pouvez pas désactiver votre propre accès : transmettez d'abord le rôle "
                "d'administrateur à un autre membre de la structure."
            )
        )
    membership.status = MembershipStatus.DEACTIVATED
    membership.deactivation_reason = reason
    membership.save(update_fields=["status", "deactivation_reason"])
    removed = [
        habilitation
        for habilitation in sorted(_locked_habilitations(membership).values(), key=_by_catalogue_order)
        if habilitation.status == HabilitationStatus.VALIDATED
    ]
    for habilitation in removed:
        habilitation.deactivate(by=by, reason=reason, request=request)
    audit.record(
        "membership.deactivated",
        actor=by,
        target=membership,
        request=request,
        details={"removed": _service_names(removed), "reason": reason},
    )
    _email_member(membership, "deactivated", request=request, reason=reason)
    return membership


@transaction.atomic
def reactivate_member(*, membership: Membership, by, request=None) -> Membership:
    """Reactivate a deactivated member. Their services stay deactivated: the admin grants them
    again, one decision at a time."""
    _lock_organisation(membership.legal_unit_id, by=by)
    membership = _lock_membership(membership, status=MembershipStatus.DEACTIVATED)
    membership.status = MembershipStatus.APPROVED
    membership.deactivation_reason = ""
    membership.save(update_fields=["status", "deactivation_reason"])
    audit.record("membership.reactivated", actor=by, target=membership, request=request)
    _email_member(membership, "reactivated", request=request)
    return membership


# The admin role ----------------------------------------------------------------------------------


@transaction.atomic
def hand_over_admin_role(
    *, organisation_admin: Membership, to_membership: Membership, by, request=None
) -> Membership:
    """Make another approved member of the organisation its admin, in place of ``by``.

    The organisation stays with exactly one admin: the former one is unset before the new one is
    set, as the partial unique constraint org_membership_one_admin requires.
    """
    siren = organisation_admin.legal_unit_id
    admin = _lock_organisation(siren, by=by)
    if admin.pk != organisation_admin.pk:
        raise MemberError(_("Vous n'êtes pas (ou plus) l'administrateur de cette structure."))
    locked = {
        membership.pk: membership
        for membership in Membership.objects.select_for_update(of=("self",))
        .select_related("user", "legal_unit")
        .filter(pk__in=[organisation_admin.pk, to_membership.pk])
        .order_by("pk")
    }
    former, successor = locked[organisation_admin.pk], locked.get(to_membership.pk)
    if successor is None or successor.legal_unit_id != siren:
        raise MemberError(_("Ce membre n'appartient pas à la structure."))
    if successor.pk == former.pk or successor.is_admin:
        raise MemberError(_("%(user)s est déjà l'administrateur de la structure.") % {"user": successor.user})
    if successor.status != MembershipStatus.APPROVED or not successor.user.is_active:
        raise MemberError(
            _("Le rôle d'administrateur ne peut être transmis qu'à un membre actif de la structure.")
        )
    former.is_admin = False
    former.save(update_fields=["is_admin"])
    successor.is_admin = True
    successor.save(update_fields=["is_admin"])
    audit.record(
        "membership.admin_role_handed_over",
        actor=by,
        target=successor,
        request=request,
        details={"from_membership": former.pk, "from_user": former.user.get_username()},
    )
    gestion_url = absolute_url(reverse("gestion:home", kwargs={"siren": siren}), request)
    _email_member(
        successor, "admin_role_received", request=request, former=former.user, gestion_url=gestion_url
    )
    _email_member(former, "admin_role_handed_over", request=request, successor=successor.user)
    return successor
