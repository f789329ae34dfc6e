"""E-mails about habilitations: the member is told of each step of their habilitation, and whoever
decides a request (the organisation's admin, or the staff) is told of it.

The organisation admin's own pages (organisations.members) send their own e-mails.
"""

from django.conf import settings
from django.urls import reverse

from accounts.access import absolute_url
from habilitations.enums import HabilitationStatus
from habilitations.models import Habilitation, HabilitationEvent
from mailings.services import queue_email

TEMPLATES = {
    HabilitationStatus.REQUESTED: "habilitation_requested",
    HabilitationStatus.VALIDATED: "habilitation_validated",
    HabilitationStatus.REFUSED: "habilitation_refused",
    HabilitationStatus.DEACTIVATED: "habilitation_deactivated",
}


def _context(habilitation: Habilitation, request=None, **extra) -> dict:
    membership = habilitation.membership
    return {
        "membership": membership,
        "user": membership.user,
        "service": habilitation.service.name,
        "organisation": membership.legal_unit.denomination or membership.legal_unit_id,
        "operator": settings.PORTAL_OPERATOR_NAME,
        "catalogue_url": absolute_url(reverse("services:catalogue"), request),
        **extra,
    }


def template_for(event: HabilitationEvent) -> str:
    if (
        event.from_status == HabilitationStatus.DEACTIVATED
        and event.to_status == HabilitationStatus.VALIDATED
    ):
        return "habilitation_reactivated"
    return TEMPLATES[HabilitationStatus(event.to_status)]


def notify_transition(habilitation: Habilitation, event: HabilitationEvent, request=None) -> None:
    """E-mail the member the step ``event`` of their habilitation: requested (en cours de
    validation), validated, refused with its reason, deactivated, reactivated."""
    open_url = absolute_url(reverse("services:open", kwargs={"pk": habilitation.service_id}), request)
    queue_email(
        to=habilitation.membership.email,
        template=template_for(event),
        context=_context(habilitation, request, reason=event.reason, open_url=open_url),
    )


def notify_organisation_admin(habilitation: Habilitation, *, admin, request=None) -> None:
    """E-mail the organisation's admin a member's request, with a link to the member's page."""
    membership = habilitation.membership
    member_url = reverse("gestion:member", kwargs={"siren": membership.legal_unit_id, "pk": membership.pk})
    queue_email(
        to=admin.email,
        template="habilitation_to_admin",
        context=_context(habilitation, request, admin=admin, member_url=absolute_url(member_url, request)),
    )


def notify_staff(habilitation: Habilitation, request=None) -> None:
    """E-mail the staff (PORTAL_STAFF_EMAIL, if set) a request they decide in the admin."""
    if not settings.PORTAL_STAFF_EMAIL:
        return
    admin_url = reverse("admin:habilitations_habilitation_change", args=[habilitation.pk])
    queue_email(
        to=settings.PORTAL_STAFF_EMAIL,
        template="habilitation_to_staff",
        context=_context(habilitation, request, admin_url=absolute_url(admin_url, request)),
    )
