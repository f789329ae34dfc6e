"""Exactly one admin per organisation, with real threads racing on PostgreSQL."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import PendingSignup
from accounts.services import _code_hash, verify_signup_code
from mailings.models import Letter
from organisations import delegation
from organisations.enums import AdminClaimStatus, MembershipStatus
from organisations.models import AdminClaim, Category, Membership
from tests.concurrency.helpers import race
from tests.organisations.factories import EstablishmentFactory, MembershipFactory
from tests.organisations.test_delegation import letter_code

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
RACERS = 50


@pytest.fixture(autouse=True)
def _bdt(settings):
    settings.PORTAL_ONBOARDING_RULES = ["R1", "R3"]


def test_fifty_first_users_confirming_at_once_give_one_claim_and_one_letter(settings):
    establishment = EstablishmentFactory()
    category = Category.objects.get(name="Porteurs de projets")
    pendings = []
    for number in range(RACERS):
        data = {
            "category": category.pk,
            "function": category.functions.first().pk,
            "title": "Chargé de mission",
            "flags": [],
            "civilite": "mme",
            "first_name": "Camille",
            "last_name": f"Martin{number}",
            "siret": establishment.siret,
            "departement": "54",
            "address": "1 PL DE L'HOTEL DE VILLE",
            "address_complement": "",
            "postal_code": "54000",
            "city": "NANCY",
            "email": f"premier{number}@mairie-exemple.fr",
            "phone_landline": "+33383000000",
            "phone_mobile": "",
            "cgu_version": "2026-01",
            "identifiant": f"premier{number}",
            "services": [],
            "accepts_admin_role": True,
        }
        pending = PendingSignup(email=data["email"], data=data, code_expires_at="2999-01-01T00:00:00Z")
        pending.code_hash = _code_hash(pending.token, "123456")
        pending.save()
        pendings.append(pending)

    results = race(lambda pending: verify_signup_code(pending=pending, code="123456"), pendings)

    errors = [result for result in results if isinstance(result, Exception)]
    assert errors == []
    winners = [result for result in results if not result.notice]
    assert len(winners) == 1
    assert all("juste avant vous" in result.notice for result in results if result.notice)
    assert Membership.objects.filter(status=MembershipStatus.PENDING_ACTIVATION).count() == 1
    assert Membership.objects.filter(status=MembershipStatus.PENDING_ADMIN).count() == RACERS - 1
    claim = AdminClaim.objects.get()
    assert claim.membership == winners[0].membership
    assert Letter.objects.count() == 1

    result = delegation.activate_admin_role(
        user=claim.membership.user, siren=establishment.siren, code=letter_code(claim.letter)
    )
    assert result.membership is not None
    assert Membership.objects.filter(legal_unit=establishment.legal_unit, is_admin=True).count() == 1


def test_fifty_members_asking_for_the_role_at_once_through_the_page_give_one_claim():
    establishment = EstablishmentFactory()
    members = [MembershipFactory(establishment=establishment, pending_admin=True) for _ in range(RACERS)]
    url = reverse("admin_role_offer", kwargs={"siren": establishment.siren})

    def ask(membership):
        client = Client()
        client.force_login(membership.user)
        response = client.post(url, {"accept_admin_role": "on", "accept_cgu": "on"})
        return response.status_code, response.content.decode()

    results = race(ask, members)

    assert [result for result in results if isinstance(result, Exception)] == []
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * (RACERS - 1) + [302]
    refused = [page for status, page in results if status == 200]
    assert all("a demandé le rôle d&#x27;administrateur avant vous" in page for page in refused)
    claim = AdminClaim.objects.get(status=AdminClaimStatus.PENDING)
    assert Letter.objects.count() == 1
    assert Membership.objects.filter(status=MembershipStatus.PENDING_ACTIVATION).get() == claim.membership

    # The code makes one admin; nobody else can become one meanwhile.
    result = delegation.activate_admin_role(
        user=claim.membership.user, siren=establishment.siren, code=letter_code(claim.letter)
    )
    assert result.membership.is_admin
    assert Membership.objects.filter(legal_unit=establishment.legal_unit, is_admin=True).count() == 1
    other = Membership.objects.filter(status=MembershipStatus.PENDING_ADMIN).first()
    with pytest.raises(delegation.DelegationError):
        delegation.claim_admin_role(membership=other)
