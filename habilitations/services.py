"""Requests for services, made by members of an organisation."""

from django.db import transaction

from habilitations.enums import HabilitationStatus
from habilitations.models import Habilitation, HabilitationEvent
from portal import audit


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
