"""The staff validation queue (rule R4) in the Django admin."""

import pytest
from django.core import mail
from django.urls import reverse

from organisations.enums import MembershipStatus, OnboardingRule
from organisations.models import Category, Membership
from organisations.services import InvalidDecision, approve_membership, refuse_membership
from portal.audit.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.organisations.factories import EstablishmentFactory

pytestmark = pytest.mark.django_db


def make_membership(**overrides):
    establishment = EstablishmentFactory()
    category = Category.objects.get(name="Porteurs de projets")
    user = overrides.pop("user", None) or UserFactory(password=None)
    if "has_password" not in overrides:
        user.set_unusable_password()
        user.save()
    overrides.pop("has_password", None)
    values = {
        "user": user,
        "establishment": establishment,
        "legal_unit": establishment.legal_unit,
        "status": MembershipStatus.PENDING_STAFF,
        "rule": OnboardingRule.R4_STAFF_VALIDATION,
        "category": category,
        "function": category.functions.first(),
        "title": "Chef de projet",
        "departement": "54",
        "address": "1 PL DE L'HOTEL DE VILLE",
        "postal_code": "54000",
        "city": "NANCY",
        "email": user.email,
        "phone_landline": "+33383000000",
        "cgu_version": "2026-01",
    }
    values.update(overrides)
    return Membership.objects.create(**values)


@pytest.fixture
def staff():
    return UserFactory(identifiant="agent", is_staff=True, is_superuser=True)


def test_the_queue_lists_filters_and_searches_pending_registrations(
    client, staff, django_assert_max_num_queries
):
    pending = make_membership()
    make_membership(status=MembershipStatus.APPROVED, rule=OnboardingRule.R2_TRUSTED_DOMAIN)
    client.force_login(staff)
    url = reverse("admin:organisations_membership_changelist")
    page = client.get(url, {"status__exact": "pending_staff"}).content.decode()
    assert page.count('class="action-select"') == 1
    assert pending.email in page
    page = client.get(url, {"q": pending.legal_unit.denomination}).content.decode()
    assert pending.email in page
    for _ in range(10):
        make_membership()
    with django_assert_max_num_queries(12):
        client.get(url)


def test_staff_approve_and_the_applicant_gets_the_access_email(
    client, staff, django_capture_on_commit_callbacks
):
    membership = make_membership()
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:organisations_membership_approve", args=[membership.pk]), follow=True
        )
    assert "est validée" in response.content.decode()
    membership.refresh_from_db()
    assert (membership.status, membership.decided_by) == (MembershipStatus.APPROVED, staff)
    assert mail.outbox[-1].to == [membership.email]
    assert mail.outbox[-1].subject.startswith("Création de mon accès technique")
    entry = AuditEntry.objects.get(action="membership.approved")
    assert (entry.actor, entry.target_id) == (staff, str(membership.pk))


def test_an_applicant_who_already_has_a_password_is_told_instead(staff, django_capture_on_commit_callbacks):
    user = UserFactory()
    membership = make_membership(user=user, has_password=True)
    with django_capture_on_commit_callbacks(execute=True):
        approve_membership(membership=membership, by=staff)
    assert mail.outbox[-1].subject == "Votre inscription est validée"


def test_staff_refuse_with_a_reason_sent_to_the_applicant(client, staff, django_capture_on_commit_callbacks):
    membership = make_membership()
    client.force_login(staff)
    url = reverse("admin:organisations_membership_refuse", args=[membership.pk])
    page = client.post(url, {"reason": ""}).content.decode()
    assert "Ce champ est obligatoire." in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"reason": "Organisme sans convention avec l'opérateur."})
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.REFUSED
    assert membership.refusal_reason == "Organisme sans convention avec l'opérateur."
    assert mail.outbox[-1].subject == "Votre inscription n'a pas été acceptée"
    assert "Organisme sans convention avec l'opérateur." in mail.outbox[-1].body
    assert AuditEntry.objects.filter(action="membership.refused", actor=staff).exists()


def test_bulk_approve_and_bulk_refuse(client, staff, django_capture_on_commit_callbacks):
    memberships = [make_membership() for _ in range(3)]
    done = make_membership(status=MembershipStatus.APPROVED, rule=OnboardingRule.R2_TRUSTED_DOMAIN)
    client.force_login(staff)
    url = reverse("admin:organisations_membership_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            {"action": "approve_selected", "_selected_action": [m.pk for m in memberships[:2]] + [done.pk]},
            follow=True,
        )
    page = response.content.decode()
    assert "2 inscriptions validées." in page
    assert "1 inscription ignorée : déjà traitée." in page
    assert Membership.objects.filter(status=MembershipStatus.APPROVED).count() == 3

    page = client.post(
        url, {"action": "refuse_selected", "_selected_action": [memberships[2].pk]}
    ).content.decode()
    assert "Motif du refus" in page
    client.post(
        url, {"action": "refuse_selected", "_selected_action": [memberships[2].pk], "reason": "Doublon."}
    )
    assert Membership.objects.get(pk=memberships[2].pk).status == MembershipStatus.REFUSED


def test_a_decided_registration_cannot_be_decided_again(staff):
    membership = make_membership()
    approve_membership(membership=membership, by=staff)
    with pytest.raises(InvalidDecision):
        refuse_membership(membership=membership, by=staff, reason="Trop tard")
    with pytest.raises(InvalidDecision):
        approve_membership(membership=membership, by=staff)


def test_non_staff_cannot_reach_the_queue_or_decide(client):
    membership = make_membership()
    client.force_login(UserFactory())
    response = client.post(reverse("admin:organisations_membership_approve", args=[membership.pk]))
    assert response.status_code == 302
    assert "/admin/login/" in response.url
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.PENDING_STAFF


def test_categories_functions_and_flags_are_editable_data(client, staff):
    client.force_login(staff)
    category = Category.objects.get(name="Maîtres d'ouvrages")
    page = client.get(reverse("admin:organisations_category_change", args=[category.pk])).content.decode()
    assert "Chargé de mission maîtres d&#x27;ouvrages" in page
    assert "Quartiers Fertiles" in page


def test_staff_may_stand_in_for_an_organisation_admin(client, staff, django_capture_on_commit_callbacks):
    waiting = make_membership(
        status=MembershipStatus.PENDING_ADMIN, rule=OnboardingRule.R1_ORGANISATION_ADMIN
    )
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:organisations_membership_approve", args=[waiting.pk]))
    waiting.refresh_from_db()
    assert (waiting.status, waiting.decided_by) == (MembershipStatus.APPROVED, staff)
    approved_already = make_membership(status=MembershipStatus.APPROVED)
    with pytest.raises(InvalidDecision):
        approve_membership(membership=approved_already, by=staff)


def test_a_staff_refusal_refuses_the_services_asked_for(staff):
    from habilitations.enums import HabilitationStatus
    from tests.habilitations.factories import HabilitationFactory

    waiting = make_membership(
        status=MembershipStatus.PENDING_ADMIN, rule=OnboardingRule.R1_ORGANISATION_ADMIN
    )
    asked = HabilitationFactory(membership=waiting)
    refuse_membership(membership=waiting, by=staff, reason="Organisme inconnu.")
    asked.refresh_from_db()
    assert (asked.status, asked.reason, asked.changed_by) == (
        HabilitationStatus.REFUSED,
        "Organisme inconnu.",
        staff,
    )
