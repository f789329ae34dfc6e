""" "Ajouter une structure": the member's own search, then the onboarding rules."""

import pytest
from django.urls import reverse

from organisations.enums import MembershipStatus, OnboardingRule, TrustKind
from organisations.models import ClientNumber, Membership, TrustedDomainEntry
from portal.audit.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.accounts.helpers import sent_to, text
from tests.organisations.factories import EstablishmentFactory, LegalUnitFactory, MembershipFactory

pytestmark = pytest.mark.django_db
URL = "/espace/structures/ajouter/"


@pytest.fixture
def establishment():
    unit = LegalUnitFactory(siren="217500016", denomination="COMMUNE DE PARIS", legal_category="7210")
    return EstablishmentFactory(legal_unit=unit, siret="21750001600019", postal_code="75004", city="PARIS")


@pytest.fixture
def user(client):
    user = UserFactory(email="camille.martin@paris.fr", phone_landline="+33142764040")
    client.force_login(user)
    return user


def choose(client, siret):
    return client.post(URL, {"organisme-query": siret, "organisme-postal_code": "", "organisme-siret": siret})


def test_the_page_searches_by_name_or_client_number(client, user, establishment, settings):
    settings.PORTAL_CLIENT_NUMBERS = True
    assert reverse("add_structure") == URL
    page = text(client.post(URL, {"organisme-query": "commune paris", "action": "search"}))
    assert "21750001600019" in page
    assert "Choisir" in page
    ClientNumber.objects.create(number="123", siren="217500016")
    page = text(client.post(URL, {"organisme-client_number": "000123", "action": "search"}))
    assert "21750001600019" in page
    page = text(client.post(URL, {"organisme-query": "", "action": "search"}))
    assert "Saisissez le nom de votre organisme" in page
    assert not Membership.objects.exists()


@pytest.mark.parametrize(
    ("rules", "trusted", "status", "rule"),
    [
        (["R2", "R4"], True, MembershipStatus.APPROVED, OnboardingRule.R2_TRUSTED_DOMAIN),
        (["R2", "R4"], False, MembershipStatus.PENDING_STAFF, OnboardingRule.R4_STAFF_VALIDATION),
    ],
)
def test_choosing_an_establishment_applies_the_rules(
    client, user, establishment, settings, rules, trusted, status, rule, django_capture_on_commit_callbacks
):
    settings.PORTAL_ONBOARDING_RULES = rules
    if trusted:
        TrustedDomainEntry.objects.create(kind=TrustKind.SIREN, value="217500016")
    with django_capture_on_commit_callbacks(execute=True):
        response = choose(client, establishment.siret)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    membership = Membership.objects.get()
    assert (membership.user, membership.status, membership.rule) == (user, status, rule)
    assert membership.function is None
    assert (membership.email, membership.phone_landline, membership.city) == (
        "camille.martin@paris.fr",
        "+33142764040",
        "PARIS",
    )
    assert AuditEntry.objects.filter(action="structure.attached", actor=user).count() == 1
    assert sent_to("camille.martin@paris.fr")
    assert "COMMUNE DE PARIS est ajoutée à vos structures" in text(client.get(reverse("dashboard")))


def test_with_an_admin_the_request_goes_to_them(
    client, user, establishment, settings, django_capture_on_commit_callbacks
):
    settings.PORTAL_ONBOARDING_RULES = ["R1", "R3"]
    admin = MembershipFactory(establishment=establishment, admin=True)
    with django_capture_on_commit_callbacks(execute=True):
        choose(client, establishment.siret)
    assert Membership.objects.get(user=user).status == MembershipStatus.PENDING_ADMIN
    assert "Une inscription attend votre validation" in sent_to(admin.email)[-1].subject


def test_without_admin_the_user_is_offered_the_role(client, user, establishment, settings):
    settings.PORTAL_ONBOARDING_RULES = ["R1", "R3"]
    response = choose(client, establishment.siret)
    assert response["Location"] == reverse("admin_role_offer", kwargs={"siren": "217500016"})
    assert "Devenir administrateur de ma structure" in text(client.get(response["Location"]))


def test_a_structure_already_held_is_not_added_twice_but_a_detached_one_comes_back(
    client, user, establishment
):
    MembershipFactory(user=user, establishment=establishment)
    response = choose(client, establishment.siret)
    assert response.status_code == 302
    assert "Vous êtes déjà rattaché à COMMUNE DE PARIS" in text(client.get(reverse("dashboard")))
    Membership.objects.update(status=MembershipStatus.DETACHED)
    choose(client, establishment.siret)
    assert Membership.objects.get().status != MembershipStatus.DETACHED
    assert Membership.objects.count() == 1


def test_hidden_closed_or_forged_establishments_are_refused(client, user):
    for siret in (
        EstablishmentFactory(non_diffusible=True).siret,
        EstablishmentFactory(closed=True).siret,
        "123",
    ):
        response = choose(client, siret)
        assert response.status_code == 200
        assert "fr-error-text" in text(response)
    assert not Membership.objects.exists()


def test_the_page_needs_a_login(client):
    assert client.get(URL).status_code == 302
