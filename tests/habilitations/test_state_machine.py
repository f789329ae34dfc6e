"""A habilitation's life: only the allowed transitions, each recorded with who, when and why."""

import pytest

from habilitations.enums import HabilitationStatus
from habilitations.models import Habilitation, InvalidTransition
from habilitations.services import request_habilitations
from portal.audit.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.habilitations.factories import HabilitationFactory, ServiceFactory
from tests.organisations.factories import MembershipFactory

pytestmark = pytest.mark.django_db

REQUESTED, VALIDATED, REFUSED, DEACTIVATED = (
    HabilitationStatus.REQUESTED,
    HabilitationStatus.VALIDATED,
    HabilitationStatus.REFUSED,
    HabilitationStatus.DEACTIVATED,
)
ALLOWED = {
    (REQUESTED, VALIDATED),
    (REQUESTED, REFUSED),
    (VALIDATED, DEACTIVATED),
    (DEACTIVATED, VALIDATED),
    (DEACTIVATED, REQUESTED),
    (REFUSED, REQUESTED),
    (REFUSED, VALIDATED),
}


@pytest.mark.parametrize("start", list(HabilitationStatus))
@pytest.mark.parametrize("target", list(HabilitationStatus))
def test_only_the_allowed_transitions_happen(start, target):
    habilitation = HabilitationFactory(status=start, reason="motif" if start == REFUSED else "")
    by = UserFactory()
    if (start, target) in ALLOWED:
        event = habilitation.transition(target, by=by, reason="Décision de l'administrateur.")
        habilitation.refresh_from_db()
        assert habilitation.status == target
        assert (event.from_status, event.to_status, event.by, event.reason) == (
            start,
            target,
            by,
            "Décision de l'administrateur.",
        )
        assert AuditEntry.objects.filter(action=f"habilitation.{target}", actor=by).count() == 1
    else:
        with pytest.raises(InvalidTransition):
            habilitation.transition(target, by=by, reason="Décision de l'administrateur.")
        habilitation.refresh_from_db()
        assert habilitation.status == start
        assert not habilitation.events.exists()
        assert not AuditEntry.objects.filter(action__startswith="habilitation.").exists()


def test_a_refusal_needs_a_reason_and_the_database_insists():
    habilitation = HabilitationFactory()
    with pytest.raises(InvalidTransition):
        habilitation.refuse(by=None, reason="   ")
    assert Habilitation.objects.get().status == REQUESTED
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Habilitation.objects.filter(pk=habilitation.pk).update(status=REFUSED, reason="")


def test_requests_are_made_once_and_again_after_a_refusal():
    membership = MembershipFactory()
    loans, files = ServiceFactory(name="Prêts"), ServiceFactory(name="Dossiers")
    user = membership.user
    assert len(request_habilitations(membership=membership, services=[loans, files], by=user)) == 2
    assert request_habilitations(membership=membership, services=[loans], by=user) == []  # already asked
    refused = membership.habilitations.get(service=loans)
    refused.refuse(by=None, reason="Non.")
    (again,) = request_habilitations(membership=membership, services=[loans], by=user)
    assert again.status == REQUESTED
    assert [event.to_status for event in again.events.all()] == [REQUESTED, REFUSED, REQUESTED]
