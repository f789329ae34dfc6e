"""Requests for services made by members of an organisation, the staff's decisions on them, and
the acceptance of a service's conditions particulières (DESIGN §5; bdt-espace "Demande
d'habilitation" CAS 1 and CAS 2, "Accès à l'espace prêt")."""

import enum
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from habilitations import notifications
from habilitations.enums import HabilitationStatus
from habilitations.models import (
    ConditionsAcceptance,
    Habilitation,
    HabilitationEvent,
    InvalidTransition,
    Service,
    ServiceConditions,
)
from organisations.delegation import admin_role_available, lock_organisation, open_claim, organisation_admin
from organisations.enums import MembershipStatus
from organisations.models import Membership
from portal import audit

# A member asks for services in a structure while their registration is valid or still decided.
REQUESTABLE_STATUSES = (
    MembershipStatus.APPROVED,
    MembershipStatus.PENDING_ADMIN,
    MembershipStatus.PENDING_STAFF,
    MembershipStatus.PENDING_ACTIVATION,
)


@transaction.atomic
def request_habilitations(*, membership, services, by, request=None) -> list[Habilitation]:
    """Ask for these services in this membership: new requests, or again after a refusal or a
    deactivation; services already requested or validated are left as they are."""
    created = []
    for service in services:
        habilitation, is_new = Habilitation.objects.get_or_create(
            membership=membership, service=service, defaults={"changed_by": by}
        )
        if is_new:
            HabilitationEvent.objects.create(
                habilitation=habilitation,
                to_status=HabilitationStatus.REQUESTED,
                by=by,
                at=habilitation.created_at,
            )
            audit.record(
                "habilitation.requested",
                actor=by,
                target=habilitation,
                request=request,
                details={"service": service.name},
            )
        elif habilitation.can_become(HabilitationStatus.REQUESTED):
            habilitation.request_again(by=by, request=request)
        else:
            continue
        created.append(habilitation)
    return created


# A member's request for one service ----------------------------------------------------------------


class ServiceRequestError(Exception):
    """A request the member cannot make: the message is shown to them, in French."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class FunctionRequired(ServiceRequestError):
    """The service needs the member's function in the structure, which they have not given."""


class Route(enum.StrEnum):
    """Who decides a request made in an organisation."""

    ORGANISATION_ADMIN = "organisation_admin"  # its admin, e-mailed (bdt-espace CAS 1)
    OWN_DECISION = "own_decision"  # the requester is the admin
    AWAITING_LETTER = "awaiting_letter"  # another member's letter is pending: its admin-to-be
    OWN_LETTER = "own_letter"  # the requester's own letter is pending: they will
    ADMIN_ROLE_OFFER = "admin_role_offer"  # nobody yet: the requester is offered the role (CAS 2)
    STAFF = "staff"  # no delegated administration: the operator's staff


def request_route(membership: Membership) -> Route:
    """Who decides a request of this member: the organisation's admin, the one whose letter is
    pending, the requester once they take the admin role (rule R3), or else the staff.

    The answer holds while the organisation is locked (organisations.delegation.lock_organisation).
    """
    siren = membership.legal_unit_id
    admin = organisation_admin(siren)
    if admin is not None:
        return Route.OWN_DECISION if admin.pk == membership.pk else Route.ORGANISATION_ADMIN
    claim = open_claim(siren)
    if claim is not None:
        return Route.OWN_LETTER if claim.membership_id == membership.pk else Route.AWAITING_LETTER
    # The offer page (organisations.views.admin_role_offer) is for these registrations only.
    if admin_role_available(siren) and membership.status in (
        MembershipStatus.PENDING_ADMIN,
        MembershipStatus.APPROVED,
    ):
        return Route.ADMIN_ROLE_OFFER
    return Route.STAFF


@dataclass(frozen=True)
class ServiceRequest:
    habilitation: Habilitation
    route: Route
    changed: bool  # False: the request was already pending, or the service already granted


def membership_refusal(membership: Membership) -> str:
    """Why this membership allows no request, or ""."""
    if membership.status in REQUESTABLE_STATUSES:
        return ""
    return _(
        "Votre inscription dans cette structure est « %(status)s » : vous ne pouvez pas y demander "
        "de service."
    ) % {"status": membership.get_status_display()}


def needs_function(membership: Membership, service: Service) -> bool:
    return service.requires_function and membership.function_id is None


@transaction.atomic
def request_service(*, membership: Membership, service: Service, by, request=None) -> ServiceRequest:
    """A member asks for one service in one of their structures.

    The registration must still be valid or being decided (REQUESTABLE_STATUSES), the service
    offered, and the member's function given when the service needs one (FunctionRequired). A
    request already pending, or a service already granted, changes nothing. Otherwise the service
    is requested (anew, or again after a refusal or a deactivation), the member is e-mailed, and so
    is whoever decides (request_route): the organisation's admin, with a link to the member's page,
    or the staff (PORTAL_STAFF_EMAIL); while a letter is pending, or when the requester is offered
    the admin role, the request waits for the admin-to-be.

    The organisation is locked first, as for its admin's decisions (organisations.members): the
    route still holds when the request is recorded, and a resubmitted form finds the first one's.
    """
    lock_organisation(membership.legal_unit_id)
    membership = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user", "legal_unit")
        .get(pk=membership.pk)
    )
    service = Service.objects.get(pk=service.pk)
    refusal = membership_refusal(membership)
    if refusal:
        raise ServiceRequestError(refusal)
    if not service.is_active:
        raise ServiceRequestError(_("Le service « %(service)s » n'est plus proposé.") % {"service": service})
    route = request_route(membership)
    held = (
        Habilitation.objects.select_for_update(of=("self",))
        .filter(membership=membership, service=service)
        .first()
    )
    if held is not None and held.status in (HabilitationStatus.REQUESTED, HabilitationStatus.VALIDATED):
        return ServiceRequest(habilitation=held, route=route, changed=False)
    if needs_function(membership, service):
        raise FunctionRequired(
            _("Le service « %(service)s » demande que vous indiquiez votre fonction dans la structure.")
            % {"service": service}
        )
    (habilitation,) = request_habilitations(membership=membership, services=[service], by=by, request=request)
    habilitation.membership = membership
    event = habilitation.events.order_by("-at", "-id").first()
    notifications.notify_transition(habilitation, event, request=request)
    if route == Route.ORGANISATION_ADMIN:
        notifications.notify_organisation_admin(
            habilitation, admin=organisation_admin(membership.legal_unit_id), request=request
        )
    elif route == Route.STAFF:
        notifications.notify_staff(habilitation, request=request)
    return ServiceRequest(habilitation=habilitation, route=route, changed=True)


# The staff's decisions (Django admin) --------------------------------------------------------------


class StaffDecision(enum.Enum):
    """A decision staff take on habilitations: the state it leads to, and the states it applies to
    (within what Habilitation.TRANSITIONS allows)."""

    VALIDATE = (HabilitationStatus.VALIDATED, (HabilitationStatus.REQUESTED, HabilitationStatus.REFUSED))
    REFUSE = (HabilitationStatus.REFUSED, (HabilitationStatus.REQUESTED,))
    DEACTIVATE = (HabilitationStatus.DEACTIVATED, (HabilitationStatus.VALIDATED,))
    REACTIVATE = (HabilitationStatus.VALIDATED, (HabilitationStatus.DEACTIVATED,))

    @property
    def target(self) -> HabilitationStatus:
        return self.value[0]

    @property
    def sources(self) -> tuple[HabilitationStatus, ...]:
        return self.value[1]


@transaction.atomic
def decide_as_staff(
    *, habilitation: Habilitation, decision: StaffDecision, by, reason: str = "", request=None
) -> HabilitationEvent:
    """A staff member validates, refuses (with a reason), deactivates or reactivates a
    habilitation, whatever its organisation. The row is locked and its state read again: a
    decision it no longer allows raises InvalidTransition and changes nothing. The step is
    recorded and audited by the state machine, with the staff member as actor; the member is
    e-mailed."""
    habilitation = (
        Habilitation.objects.select_for_update(of=("self",))
        .select_related("service", "membership__user", "membership__legal_unit")
        .get(pk=habilitation.pk)
    )
    if habilitation.status not in decision.sources:
        raise InvalidTransition(
            _("« %(habilitation)s » est « %(status)s » : rien n'est fait.")
            % {"habilitation": habilitation, "status": habilitation.get_status_display()}
        )
    event = habilitation.transition(decision.target, by=by, reason=reason, request=request)
    notifications.notify_transition(habilitation, event, request=request)
    return event


# Conditions particulières --------------------------------------------------------------------------


def current_conditions(service: Service) -> ServiceConditions | None:
    """The service's conditions particulières in force: its latest published version."""
    return (
        ServiceConditions.objects.filter(service=service, published_at__lte=timezone.now())
        .order_by("-published_at", "-id")
        .first()
    )


def has_accepted(user, conditions: ServiceConditions) -> bool:
    return ConditionsAcceptance.objects.filter(user=user, conditions=conditions).exists()


@transaction.atomic
def accept_conditions(*, user, conditions: ServiceConditions, request=None) -> ConditionsAcceptance:
    """Record that the user accepted this version of the conditions, with the time and their
    address; accepting it twice (a resubmitted form) records it once."""
    acceptance, created = ConditionsAcceptance.objects.get_or_create(
        user=user,
        conditions=conditions,
        defaults={"ip_address": getattr(request, "client_ip", None) if request is not None else None},
    )
    if created:
        audit.record(
            "conditions.accepted",
            actor=user,
            target=conditions,
            request=request,
            details={"service": conditions.service.name, "version": conditions.version},
        )
    return acceptance


@transaction.atomic
def publish_conditions(*, conditions: ServiceConditions, by, request=None) -> ServiceConditions:
    """Publish a new version of a service's conditions particulières, from now on: every user
    accepts it at their next access. A published version is never changed: a new one replaces it."""
    if conditions.pk is not None:
        raise ValueError("A published version of the conditions is never changed.")
    conditions.published_at = timezone.now()
    conditions.published_by = by
    conditions.save()
    audit.record(
        "conditions.published",
        actor=by,
        target=conditions,
        request=request,
        details={"service": conditions.service.name, "version": conditions.version},
    )
    return conditions
