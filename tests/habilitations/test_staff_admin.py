"""The staff's admin of habilitations (DESIGN §6): lists, filters and search; decisions through
the state machine, each e-mailed to the member and audited with the staff member as actor."""

import html

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from habilitations.enums import HabilitationStatus
from habilitations.models import Habilitation, Service
from mailings.models import Email
from portal.audit.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.habilitations.factories import HabilitationFactory
from tests.organisations.factories import MembershipFactory

pytestmark = pytest.mark.django_db

REQUESTED, VALIDATED, REFUSED, DEACTIVATED = (
    HabilitationStatus.REQUESTED,
    HabilitationStatus.VALIDATED,
    HabilitationStatus.REFUSED,
    HabilitationStatus.DEACTIVATED,
)
CHANGELIST = "admin:habilitations_habilitation_changelist"
REASON = "Votre structure n'a pas de prêt en cours."


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def staff():
    return UserFactory(identifiant="agent", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def habilitation(status=REQUESTED, *, service="Consultation des dossiers", **kwargs):
    return HabilitationFactory(
        status=status,
        service=Service.objects.get(name=service),
        reason="Motif précédent" if status == REFUSED else "",
        **kwargs,
    )


def act(client, action: str, rows, **data):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, ACTION_CHECKBOX_NAME: [row.pk for row in rows], **data},
        follow=True,
    )


def states(*rows) -> list[str]:
    return [Habilitation.objects.get(pk=row.pk).status for row in rows]


def emails_to(row) -> list[Email]:
    return list(Email.objects.filter(to_email=row.membership.email).order_by("pk"))


# The list -----------------------------------------------------------------------------------------


def test_staff_list_filter_and_search_every_habilitation(staff_client, django_assert_max_num_queries):
    pending = habilitation(
        membership=MembershipFactory(establishment__legal_unit__denomination="COMMUNE DE NANCY")
    )
    granted = habilitation(VALIDATED, service="Documents")
    url = reverse(CHANGELIST)

    assert text(staff_client.get(url)).count('class="action-select"') == 2
    filtered = text(staff_client.get(url, {"status__exact": "requested"}))
    assert filtered.count('class="action-select"') == 1
    assert "COMMUNE DE NANCY" in filtered
    by_service = staff_client.get(url, {"service__id__exact": granted.service_id})
    assert text(by_service).count('class="action-select"') == 1
    by_siren = text(staff_client.get(url, {"q": pending.membership.legal_unit_id}))
    assert by_siren.count('class="action-select"') == 1
    assert "COMMUNE DE NANCY" in by_siren
    by_user = text(staff_client.get(url, {"q": granted.membership.user.identifiant}))
    assert by_user.count('class="action-select"') == 1

    for _ in range(10):
        habilitation()
    with django_assert_max_num_queries(12):
        staff_client.get(url)


def test_a_habilitation_page_is_read_only_with_its_history(staff_client, staff):
    row = habilitation()
    row.refuse(by=staff, reason=REASON)

    page = text(staff_client.get(reverse("admin:habilitations_habilitation_change", args=[row.pk])))

    assert REASON in page
    # The history: requested, then refused.
    assert "en cours de validation" in page
    assert "refusée" in page
    assert 'name="_save"' not in page
    assert 'name="status"' not in page


# Decisions ----------------------------------------------------------------------------------------


def test_validate_the_selected_requests_skipping_the_others(staff_client, staff):
    pending, refused, granted = habilitation(), habilitation(REFUSED), habilitation(VALIDATED)

    response = act(staff_client, "validate_selected", [pending, refused, granted])

    assert states(pending, refused, granted) == [VALIDATED, VALIDATED, VALIDATED]
    content = text(response)
    assert "2 habilitations modifiées" in content
    assert f"« {granted} » est « validée » : rien n'est fait." in content
    for row in (pending, refused):
        (email,) = emails_to(row)
        assert email.template == "habilitation_validated"
        assert "Votre accès au service « Consultation des dossiers » est accordé" in email.subject
        open_url = reverse("services:open", kwargs={"pk": row.service_id})
        assert f"http://testserver{open_url}" in email.body_text
        assert AuditEntry.objects.filter(
            action="habilitation.validated", actor=staff, target_id=str(row.pk)
        ).exists()
        event = Habilitation.objects.get(pk=row.pk).events.get()
        assert (event.to_status, event.by) == (VALIDATED, staff)
    assert not emails_to(granted)


def test_refuse_asks_for_a_reason_then_refuses_and_emails_it(staff_client, staff):
    first, second, granted = habilitation(), habilitation(), habilitation(VALIDATED)

    page = act(staff_client, "refuse_selected", [first, second, granted])
    assert "Motif du refus" in text(page)
    assert str(first.membership.user) in text(page)
    assert states(first, second, granted) == [REQUESTED, REQUESTED, VALIDATED]

    blank = act(staff_client, "refuse_selected", [first, second, granted], reason="  ")
    assert "Motif du refus" in text(blank)
    assert states(first, second) == [REQUESTED, REQUESTED]

    response = act(staff_client, "refuse_selected", [first, second, granted], reason=REASON)

    assert "2 habilitations modifiées" in text(response)
    assert "est « validée » : rien n'est fait." in text(response)
    assert states(first, second, granted) == [REFUSED, REFUSED, VALIDATED]
    for row in (first, second):
        row.refresh_from_db()
        assert (row.reason, row.changed_by) == (REASON, staff)
        (email,) = emails_to(row)
        assert email.template == "habilitation_refused"
        assert REASON in email.body_text
        entry = AuditEntry.objects.get(action="habilitation.refused", target_id=str(row.pk))
        assert (entry.actor, entry.details["reason"]) == (staff, REASON)


def test_deactivate_then_reactivate(staff_client, staff):
    granted, pending = habilitation(VALIDATED), habilitation()

    response = act(staff_client, "deactivate_selected", [granted, pending])

    assert "1 habilitation modifiée" in text(response)
    assert states(granted, pending) == [DEACTIVATED, REQUESTED]
    assert [email.template for email in emails_to(granted)] == ["habilitation_deactivated"]
    assert not emails_to(pending)

    response = act(staff_client, "reactivate_selected", [granted, pending])

    assert states(granted, pending) == [VALIDATED, REQUESTED]
    assert [email.template for email in emails_to(granted)] == [
        "habilitation_deactivated",
        "habilitation_reactivated",
    ]
    assert "est réactivé" in emails_to(granted)[-1].subject
    assert [
        (event.from_status, event.to_status, event.by)
        for event in Habilitation.objects.get(pk=granted.pk).events.all()
    ] == [(VALIDATED, DEACTIVATED, staff), (DEACTIVATED, VALIDATED, staff)]
    assert list(
        AuditEntry.objects.filter(target_id=str(granted.pk)).order_by("pk").values_list("action", "actor")
    ) == [("habilitation.deactivated", staff.pk), ("habilitation.validated", staff.pk)]


def test_the_validate_action_does_not_reactivate(staff_client):
    deactivated = habilitation(DEACTIVATED)
    response = act(staff_client, "validate_selected", [deactivated])
    assert "est « désactivée » : rien n'est fait." in text(response)
    assert states(deactivated) == [DEACTIVATED]
    assert not Email.objects.exists()


# Who may --------------------------------------------------------------------------------------


@pytest.mark.parametrize("is_staff", [False, True])
def test_only_staff_reach_the_admin_and_a_member_decides_nothing(client, is_staff):
    row = habilitation()
    # A member of the organisation; as staff without permissions, they still decide nothing.
    client.force_login(UserFactory(is_staff=is_staff))
    url = reverse(CHANGELIST)

    response = client.get(url)
    assert response.status_code == (403 if is_staff else 302)
    response = client.post(url, {"action": "validate_selected", ACTION_CHECKBOX_NAME: [row.pk]})
    assert response.status_code == (403 if is_staff else 302)
    if not is_staff:
        assert response["Location"].startswith(reverse("admin:login"))
    assert states(row) == [REQUESTED]
    assert not Email.objects.exists()
