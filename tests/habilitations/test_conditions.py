"""Access to a granted service (bdt-espace "Accès à l'espace prêt"): its conditions particulières
accepted first, once per version, then the redirect to the service's own address; and the
versions staff publish in the admin."""

import datetime
import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from habilitations.enums import HabilitationStatus
from habilitations.models import ConditionsAcceptance, Service, ServiceConditions
from organisations.enums import MembershipStatus
from portal.audit.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.habilitations.factories import HabilitationFactory, ServiceConditionsFactory
from tests.organisations.factories import MembershipFactory

pytestmark = pytest.mark.django_db

CHECKBOX_LABEL = "J'accepte les conditions particulières d'utilisation du service"
SERVICE_URL = "https://prets.operateur.localhost/espace-pret/"


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def loans():
    return Service.objects.create(name="Mes prêts en ligne", url=SERVICE_URL)


@pytest.fixture
def granted(loans):
    """A member whose access to the service is validated."""
    return HabilitationFactory(service=loans, status=HabilitationStatus.VALIDATED)


@pytest.fixture
def user_client(client, granted):
    client.force_login(granted.membership.user)
    return client


def open_url(service) -> str:
    return reverse("services:open", kwargs={"pk": service.pk})


def accept(client, service, version, **headers):
    return client.post(open_url(service), {"accepted": "on", "version": version}, **headers)


# Access -------------------------------------------------------------------------------------------


def test_first_access_asks_for_the_conditions_then_goes_to_the_service(user_client, granted, loans):
    conditions = ServiceConditionsFactory(service=loans, version="2026-01", text="Article 1. Usage loyal.")
    user = granted.membership.user

    page = user_client.get(open_url(loans))

    assert page.status_code == 200
    content = text(page)
    assert "Article 1. Usage loyal." in content
    assert CHECKBOX_LABEL in content
    assert ">Valider<" in content
    assert not ConditionsAcceptance.objects.exists()

    refused = user_client.post(open_url(loans), {"version": "2026-01"})  # box not checked
    assert refused.status_code == 200
    assert "Cochez la case pour accepter les conditions particulières" in text(refused)
    assert not ConditionsAcceptance.objects.exists()

    response = accept(user_client, loans, "2026-01", REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 302
    assert response["Location"] == SERVICE_URL
    acceptance = ConditionsAcceptance.objects.get()
    assert (acceptance.user, acceptance.conditions, acceptance.ip_address) == (
        user,
        conditions,
        "203.0.113.7",
    )
    assert timezone.now() - acceptance.accepted_at < datetime.timedelta(minutes=1)
    entry = AuditEntry.objects.get(action="conditions.accepted")
    assert (entry.actor, entry.target_id, entry.ip_address) == (user, str(conditions.pk), "203.0.113.7")
    assert entry.details == {"service": loans.name, "version": "2026-01"}

    # Second access: straight to the service.
    again = user_client.get(open_url(loans))
    assert again.status_code == 302
    assert again["Location"] == SERVICE_URL
    # A resubmitted form records nothing more.
    assert accept(user_client, loans, "2026-01")["Location"] == SERVICE_URL
    assert ConditionsAcceptance.objects.count() == 1


def test_a_new_version_is_asked_again(user_client, granted, loans):
    first = ServiceConditionsFactory(
        service=loans, version="2026-01", published_at=timezone.now() - datetime.timedelta(days=30)
    )
    accept(user_client, loans, "2026-01")
    second = ServiceConditionsFactory(service=loans, version="2026-06", text="Article 1 modifié.")

    page = user_client.get(open_url(loans))

    assert page.status_code == 200
    assert "Article 1 modifié." in text(page)
    assert accept(user_client, loans, "2026-06")["Location"] == SERVICE_URL
    assert [acceptance.conditions for acceptance in ConditionsAcceptance.objects.order_by("pk")] == [
        first,
        second,
    ]


def test_a_version_published_while_the_page_was_open_is_read_before_it_is_accepted(user_client, loans):
    ServiceConditionsFactory(
        service=loans, version="2026-01", published_at=timezone.now() - datetime.timedelta(days=1)
    )
    user_client.get(open_url(loans))
    ServiceConditionsFactory(service=loans, version="2026-02", text="Nouvelle version.")

    response = accept(user_client, loans, "2026-01")

    assert response.status_code == 200
    content = text(response)
    assert "viennent d'être mises à jour" in content
    assert "Nouvelle version." in content
    assert re.search(r'name="version" value="2026-02"', content)
    assert not ConditionsAcceptance.objects.exists()


def test_a_service_without_conditions_opens_at_once(user_client, loans):
    response = user_client.get(open_url(loans))
    assert response.status_code == 302
    assert response["Location"] == SERVICE_URL


def test_a_version_to_be_published_later_is_not_asked_yet(user_client, loans):
    ServiceConditionsFactory(service=loans, published_at=timezone.now() + datetime.timedelta(days=3))
    assert user_client.get(open_url(loans))["Location"] == SERVICE_URL


def test_a_service_without_address_says_it_opens_soon(user_client, loans):
    Service.objects.filter(pk=loans.pk).update(url="")
    ServiceConditionsFactory(service=loans)

    response = user_client.get(open_url(loans))

    assert response.status_code == 200
    assert "Ce service ouvre bientôt" in text(response)


def test_only_the_services_own_address_is_a_destination(user_client, loans):
    for response in (
        user_client.get(open_url(loans), {"next": "https://ailleurs.example/"}),
        user_client.post(open_url(loans), {"next": "https://ailleurs.example/"}),
    ):
        assert response["Location"] == SERVICE_URL


@pytest.mark.parametrize(
    ("habilitation_status", "membership_status"),
    [
        (HabilitationStatus.REQUESTED, MembershipStatus.APPROVED),
        (HabilitationStatus.REFUSED, MembershipStatus.APPROVED),
        (HabilitationStatus.DEACTIVATED, MembershipStatus.APPROVED),
        (HabilitationStatus.VALIDATED, MembershipStatus.DEACTIVATED),
        (HabilitationStatus.VALIDATED, MembershipStatus.DETACHED),
    ],
)
def test_without_a_validated_habilitation_in_an_approved_structure_it_is_a_404(
    client, loans, habilitation_status, membership_status
):
    habilitation = HabilitationFactory(
        service=loans,
        status=habilitation_status,
        reason="Motif" if habilitation_status == HabilitationStatus.REFUSED else "",
        membership=MembershipFactory(status=membership_status),
    )
    ServiceConditionsFactory(service=loans)
    client.force_login(habilitation.membership.user)

    assert client.get(open_url(loans)).status_code == 404
    assert accept(client, loans, "2026-01").status_code == 404
    assert not ConditionsAcceptance.objects.exists()


def test_another_users_access_or_an_unknown_service_is_a_404(client, granted, loans):
    client.force_login(UserFactory())
    assert client.get(open_url(loans)).status_code == 404
    assert client.get(reverse("services:open", kwargs={"pk": 999999})).status_code == 404


def test_access_needs_a_login(client, granted, loans):
    response = client.get(open_url(loans))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# Versions published by staff ---------------------------------------------------------------------


@pytest.fixture
def staff_client(client):
    staff = UserFactory(identifiant="agent", is_staff=True, is_superuser=True)
    client.force_login(staff)
    client.staff = staff
    return client


def service_form(service, *, published=(), new=None, **overrides) -> dict:
    """The ServiceAdmin change form as the browser sends it: the service, its published versions
    (read-only) and the form of a new version."""
    data = {
        "name": service.name,
        "description": service.description,
        "url": service.url,
        "position": service.position,
        "is_active": "on",
        "conditions-TOTAL_FORMS": len(published),
        "conditions-INITIAL_FORMS": len(published),
        "conditions-MIN_NUM_FORMS": 0,
        "conditions-MAX_NUM_FORMS": 0,
        "conditions-2-TOTAL_FORMS": 1,
        "conditions-2-INITIAL_FORMS": 0,
        "conditions-2-MIN_NUM_FORMS": 0,
        "conditions-2-MAX_NUM_FORMS": 1,
        "conditions-2-0-id": "",
        "conditions-2-0-service": service.pk,
        "conditions-2-0-version": (new or {}).get("version", ""),
        "conditions-2-0-text": (new or {}).get("text", ""),
        "_save": "Enregistrer",
    }
    for index, conditions in enumerate(published):
        data[f"conditions-{index}-id"] = conditions.pk
        data[f"conditions-{index}-service"] = service.pk
    data.update(overrides)
    return data


def test_staff_publish_a_new_version_and_published_ones_stay_as_they_were(staff_client, loans):
    first = ServiceConditionsFactory(service=loans, version="2026-01", text="Texte initial.")
    change_url = reverse("admin:habilitations_service_change", args=[loans.pk])

    page = text(staff_client.get(change_url))
    assert "Texte initial." in page
    assert 'name="conditions-0-text"' not in page  # a published version is not a field

    response = staff_client.post(
        change_url,
        service_form(
            loans,
            published=[first],
            new={"version": "2026-06", "text": "Texte révisé."},
            **{"conditions-0-text": "Texte réécrit en douce.", "conditions-0-version": "2026-99"},
        ),
    )

    assert response.status_code == 302, text(response)
    first.refresh_from_db()
    assert (first.version, first.text) == ("2026-01", "Texte initial.")
    latest = ServiceConditions.objects.filter(service=loans).latest()
    assert (latest.version, latest.text, latest.published_by) == (
        "2026-06",
        "Texte révisé.",
        staff_client.staff,
    )
    entry = AuditEntry.objects.get(action="conditions.published")
    assert (entry.actor, entry.details["version"]) == (staff_client.staff, "2026-06")
    listing = text(staff_client.get(reverse("admin:habilitations_service_changelist")))
    assert "2026-06" in listing

    # Saving the service again with the new version's form left empty publishes nothing.
    staff_client.post(change_url, service_form(loans, published=[latest, first]))
    assert ServiceConditions.objects.filter(service=loans).count() == 2


def test_a_version_number_is_used_once_per_service(staff_client, loans):
    first = ServiceConditionsFactory(service=loans, version="2026-01")
    change_url = reverse("admin:habilitations_service_change", args=[loans.pk])

    response = staff_client.post(
        change_url, service_form(loans, published=[first], new={"version": "2026-01", "text": "Doublon."})
    )

    assert response.status_code == 200
    assert ServiceConditions.objects.filter(service=loans).count() == 1
    assert "existe déjà" in text(response)
