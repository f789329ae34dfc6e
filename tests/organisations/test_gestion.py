"""The organisation admin's pages (DESIGN §6; bdt-services CAS 2): registrations waiting for the
admin, service requests, members' services, deactivation, handing the role over; and who may
reach them."""

import html
import re
import threading

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from habilitations.enums import HabilitationStatus
from habilitations.models import Habilitation, HabilitationEvent, Service
from mailings.models import Email
from organisations import gestion_urls
from organisations.enums import MembershipStatus
from organisations.members import (
    MemberError,
    approve_member,
    deactivate_member,
    decide_habilitation,
    hand_over_admin_role,
    refuse_member,
    set_member_services,
)
from organisations.models import Membership
from portal.audit.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.habilitations.factories import HabilitationFactory
from tests.organisations.factories import MembershipFactory

pytestmark = pytest.mark.django_db

LOANS = "Création de demandes de prêts"
FILES = "Consultation des dossiers"
OUTSTANDING = "Consultation des encours"
DOCUMENTS = "Documents"
DATAVIZ = "Dataviz Cœur de ville"
REASON = "Ce service est réservé à la direction financière."


CHECKBOX = re.compile(r'<input type="checkbox" name="services" value="(\d+)" id="[^"]+"( checked)?>')


def service(name: str) -> Service:
    return Service.objects.get(name=name)


def page(response) -> str:
    return html.unescape(response.content.decode())


def url(name: str, siren: str, pk: int | None = None) -> str:
    kwargs = {"siren": siren} if pk is None else {"siren": siren, "pk": pk}
    return reverse(f"gestion:{name}", kwargs=kwargs)


def error_next_to(content: str, field_id: str) -> str:
    """The error the page shows under a field (DSFR: the field's own error list)."""
    found = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', content, re.DOTALL)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip() if found else ""


def states(membership) -> dict[str, str]:
    return dict(membership.habilitations.values_list("service__name", "status"))


def emails_to(address: str, template: str) -> list[Email]:
    return list(Email.objects.filter(to_email=address, template=template))


def member_of(admin, *, password=True, **kwargs):
    """A member of the admin's organisation; without password: approved by the admin, they will
    receive the access link."""
    user = UserFactory(
        first_name=kwargs.pop("first_name", "Valérie"), last_name=kwargs.pop("last_name", "Dupont")
    )
    if not password:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return MembershipFactory(user=user, establishment=admin.establishment, **kwargs)


def holding(membership, **statuses):
    """Give the member habilitations: holding(m, validated=[FILES], requested=[LOANS])."""
    for status, names in statuses.items():
        for name in names:
            HabilitationFactory(
                membership=membership,
                service=service(name),
                status=status,
                reason="Motif précédent" if status == HabilitationStatus.REFUSED else "",
            )
    return membership


@pytest.fixture
def admin():
    return MembershipFactory(
        admin=True,
        user=UserFactory(first_name="Pierre", last_name="Durand"),
        establishment__legal_unit__denomination="SOC COOP HABITATION LOYER MODERE",
    )


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin.user)
    return client


@pytest.fixture
def pending(admin):
    membership = member_of(admin, password=False, pending_admin=True)
    return holding(membership, requested=[LOANS, FILES])


# The home page ----------------------------------------------------------------------------------


def test_home_lists_registrations_requests_and_members(admin_client, admin, pending):
    asking = holding(
        member_of(admin, first_name="Jeanne", last_name="Roux"), validated=[FILES], requested=[DOCUMENTS]
    )
    gone = holding(
        member_of(admin, first_name="Marc", last_name="Petit", status=MembershipStatus.DEACTIVATED),
        deactivated=[OUTSTANDING],
    )
    elsewhere = MembershipFactory(
        pending_admin=True, user=UserFactory(first_name="Intrus", last_name="Ailleurs")
    )

    content = page(admin_client.get(url("home", admin.legal_unit_id)))

    assert "<h1>Gestion de la structure SOC COOP HABITATION LOYER MODERE</h1>" in content
    registrations = content.split('id="inscriptions"')[1].split('id="demandes"')[0]
    assert "Valérie Dupont" in registrations
    assert LOANS in registrations
    assert FILES in registrations
    requests = content.split('id="demandes"')[1].split('id="membres"')[0]
    assert "Jeanne Roux" in requests
    assert DOCUMENTS in requests
    assert (
        url("validate_request", admin.legal_unit_id, asking.habilitations.get(service__name=DOCUMENTS).pk)
        in requests
    )
    listed = content.split('id="membres"')[1]
    assert "Pierre Durand" in listed
    assert "administrateur" in listed
    assert "Marc Petit" in listed
    assert "désactivée" in listed
    assert OUTSTANDING in listed
    assert url("member", admin.legal_unit_id, gone.pk) in listed
    assert "Valérie Dupont" not in listed  # still a registration, not a member
    assert "Intrus" not in content
    assert elsewhere.legal_unit.denomination not in content


def test_home_queries_do_not_grow_with_the_members(admin_client, admin, django_assert_max_num_queries):
    for index in range(8):
        member = member_of(admin, last_name=f"Membre {index}")
        holding(member, validated=[FILES, DOCUMENTS], requested=[LOANS])
        holding(member_of(admin, pending_admin=True, last_name=f"Demandeur {index}"), requested=[OUTSTANDING])
    # Session, user, the admin's membership, the members, their habilitations with the services.
    with django_assert_max_num_queries(6):
        response = admin_client.get(url("home", admin.legal_unit_id))
    content = page(response)
    assert all(f"Valérie Membre {index}" in content for index in range(8))
    assert all(f"Valérie Demandeur {index}" in content for index in range(8))


# Registrations waiting for the admin (rule R1) ---------------------------------------------------


def test_the_admin_approves_a_registration_and_changes_the_requested_services(admin_client, admin, pending):
    response = admin_client.post(
        url("approve_member", admin.legal_unit_id, pending.pk),
        {"services": [service(FILES).pk, service(DOCUMENTS).pk], "reason": REASON},
        follow=True,
    )

    assert response.redirect_chain == [(url("member", admin.legal_unit_id, pending.pk), 302)]
    assert "L'inscription de Valérie Dupont est validée" in page(response)
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by, pending.decided_at is not None) == (
        MembershipStatus.APPROVED,
        admin.user,
        True,
    )
    assert states(pending) == {FILES: "validated", DOCUMENTS: "validated", LOANS: "refused"}
    assert pending.habilitations.get(service__name=LOANS).reason == REASON
    added = pending.habilitations.get(service__name=DOCUMENTS)
    assert list(added.events.values_list("to_status", "by")) == [
        ("requested", admin.user.pk),
        ("validated", admin.user.pk),
    ]
    [email] = emails_to(pending.email, "member_approved")
    assert email.subject == "Votre inscription est validée par l'administrateur de votre structure"
    granted, refused = email.body_text.split("Services demandés qui ne vous sont pas accordés :")
    assert f"- {FILES}" in granted
    assert f"- {DOCUMENTS}" in granted
    assert LOANS not in granted
    assert f"- {LOANS}" in refused
    assert REASON in refused
    assert "Création de mon accès technique" in email.body_text
    [link] = emails_to(pending.user.email, "access_link")
    assert link.subject.startswith("Création de mon accès technique")
    entry = AuditEntry.objects.get(action="membership.approved")
    assert (entry.actor, entry.target_id) == (admin.user, str(pending.pk))
    assert entry.details["granted"] == [FILES, DOCUMENTS]
    assert entry.details["refused"] == [LOANS]
    assert entry.details["reason"] == REASON
    assert AuditEntry.objects.filter(action="habilitation.refused", actor=admin.user).count() == 1


def test_an_approved_member_with_a_password_gets_no_access_link(admin, django_capture_on_commit_callbacks):
    membership = holding(member_of(admin, pending_admin=True), requested=[FILES])
    with django_capture_on_commit_callbacks(execute=True):
        approve_member(membership=membership, by=admin.user, services=[service(FILES)])
    [message] = mail.outbox
    assert message.to == [membership.email]
    assert message.subject == "Votre inscription est validée par l'administrateur de votre structure"
    assert f"- {FILES}" in message.body
    assert f"Connectez-vous avec votre identifiant ({membership.user.identifiant})" in message.body
    assert "pas accordés" not in message.body
    assert FILES in message.alternatives[0][0]


def test_refusing_a_requested_service_needs_a_reason(admin_client, admin, pending):
    response = admin_client.post(
        url("approve_member", admin.legal_unit_id, pending.pk),
        {"services": [service(FILES).pk], "reason": " "},
    )

    assert response.status_code == 200
    content = page(response)
    assert "Le formulaire contient des erreurs" in content
    assert 'href="#id_reason"' in content  # the summary links to the field
    assert error_next_to(content, "id_reason") == (
        "Indiquez le motif du refus des services demandés que vous n'accordez pas : il est envoyé au membre."
    )
    pending.refresh_from_db()
    assert pending.status == MembershipStatus.PENDING_ADMIN
    assert states(pending) == {LOANS: "requested", FILES: "requested"}
    assert not Email.objects.exists()
    assert not AuditEntry.objects.exists()


def test_the_service_also_refuses_a_refusal_without_reason(admin, pending):
    with pytest.raises(MemberError, match="motif"):
        approve_member(membership=pending, by=admin.user, services=[])
    pending.refresh_from_db()
    assert pending.status == MembershipStatus.PENDING_ADMIN
    assert states(pending) == {LOANS: "requested", FILES: "requested"}


def test_the_admin_refuses_a_registration_with_a_reason(admin_client, admin, pending):
    refuse_url = url("refuse_member", admin.legal_unit_id, pending.pk)
    form = page(admin_client.get(refuse_url))
    assert "<h1>Refuser l'inscription de Valérie Dupont</h1>" in form
    assert 'name="reason"' in form

    content = page(admin_client.post(refuse_url, {"reason": ""}))
    assert "Le formulaire contient des erreurs" in content
    assert error_next_to(content, "id_reason") == "Ce champ est obligatoire."
    pending.refresh_from_db()
    assert pending.status == MembershipStatus.PENDING_ADMIN
    assert not Email.objects.exists()

    response = admin_client.post(
        refuse_url, {"reason": "Vous ne faites pas partie de nos services."}, follow=True
    )
    assert "L'inscription de Valérie Dupont est refusée" in page(response)
    pending.refresh_from_db()
    assert pending.status == MembershipStatus.REFUSED
    assert pending.refusal_reason == "Vous ne faites pas partie de nos services."
    assert states(pending) == {LOANS: "refused", FILES: "refused"}
    [email] = emails_to(pending.email, "member_refused")
    assert email.subject == "Votre inscription n'a pas été acceptée par l'administrateur de votre structure"
    assert "Vous ne faites pas partie de nos services." in email.body_text
    assert "SOC COOP HABITATION LOYER MODERE" in email.body_text
    entry = AuditEntry.objects.get(action="membership.refused")
    assert (entry.actor, entry.details["reason"]) == (
        admin.user,
        "Vous ne faites pas partie de nos services.",
    )


def test_a_decision_that_no_longer_applies_changes_nothing(admin_client, admin, pending):
    refuse_member(membership=pending, by=admin.user, reason="Inconnu du service.")
    emails = Email.objects.count()

    response = admin_client.post(
        url("approve_member", admin.legal_unit_id, pending.pk),
        {"services": [service(LOANS).pk, service(FILES).pk]},
        follow=True,
    )

    assert "L'inscription de Valérie Dupont est désormais « refusée »" in page(response)
    pending.refresh_from_db()
    assert pending.status == MembershipStatus.REFUSED
    assert states(pending) == {LOANS: "refused", FILES: "refused"}
    assert Email.objects.count() == emails


@pytest.mark.parametrize(
    ("page_name", "posted", "field_id"),
    [
        ("approve_member", {"services": ["999999"]}, "id_services"),
        ("member_services", {"services": ["pas un nombre"]}, "id_services"),
        ("deactivate_member", {"deactivation_reason": "x" * 2001}, "id_deactivation_reason"),
        ("refuse_member", {"reason": "x" * 2001}, "id_reason"),
        ("refuse_member", {}, "id_reason"),  # an empty form still says what is missing
    ],
)
def test_invalid_input_is_shown_next_to_its_field_and_changes_nothing(
    admin_client, admin, pending, page_name, posted, field_id
):
    member = (
        pending
        if page_name in ("approve_member", "refuse_member")
        else holding(member_of(admin), validated=[FILES])
    )
    before = snapshot(admin.legal_unit_id)

    response = admin_client.post(url(page_name, admin.legal_unit_id, member.pk), posted)

    assert response.status_code == 200
    content = page(response)
    assert "Le formulaire contient des erreurs" in content
    assert f'href="#{field_id}"' in content  # the summary links to the field, which shows the error
    if field_id == "id_services":
        assert 'class="fr-fieldset fr-fieldset--error" id="id_services"' in content
        assert "fr-message--error" in content.split('id="id_services"')[1].split("</fieldset>")[0]
    else:
        assert error_next_to(content, field_id)
    assert snapshot(admin.legal_unit_id) == before


# Approved members -------------------------------------------------------------------------------


def test_the_admin_sets_a_members_services(admin_client, admin):
    member = holding(
        member_of(admin),
        validated=[FILES, OUTSTANDING],
        requested=[LOANS],
        refused=[DOCUMENTS],
    )
    chosen = [FILES, LOANS, DOCUMENTS, DATAVIZ]

    response = admin_client.post(
        url("member_services", admin.legal_unit_id, member.pk),
        {"services": [service(name).pk for name in chosen], "reason": "Changement de poste."},
        follow=True,
    )

    assert "Les services de Valérie Dupont sont modifiés" in page(response)
    assert states(member) == {
        FILES: "validated",
        OUTSTANDING: "deactivated",
        LOANS: "validated",
        DOCUMENTS: "validated",
        DATAVIZ: "validated",
    }
    [email] = emails_to(member.email, "member_services_changed")
    assert email.subject == "Vos accès aux services ont été modifiés"
    granted = email.body_text.split("Services accordés :")[1].split("Services retirés :")[0]
    assert [line for line in granted.splitlines() if line] == [f"- {LOANS}", f"- {DOCUMENTS}", f"- {DATAVIZ}"]
    assert f"Services retirés :\n- {OUTSTANDING}" in email.body_text
    assert "Changement de poste." in email.body_text
    entry = AuditEntry.objects.get(action="membership.services_changed")
    assert entry.details == {
        "granted": [LOANS, DOCUMENTS, DATAVIZ],
        "refused": [],
        "removed": [OUTSTANDING],
        "reason": "Changement de poste.",
    }


def test_the_services_form_offers_the_catalogue_with_the_current_ones_checked(admin_client, admin):
    member = holding(member_of(admin), validated=[FILES], requested=[LOANS], deactivated=[DOCUMENTS])
    content = page(admin_client.get(url("member", admin.legal_unit_id, member.pk)))
    form = content.split(url("member_services", admin.legal_unit_id, member.pk))[1].split("</form>")[0]
    boxes = dict(CHECKBOX.findall(form))
    assert set(boxes) == {
        str(pk) for pk in Service.objects.filter(is_active=True).values_list("pk", flat=True)
    }
    assert {pk for pk, checked in boxes.items() if checked} == {
        str(service(FILES).pk),
        str(service(LOANS).pk),
    }
    assert "État actuel : désactivée" in form
    assert "État actuel : en cours de validation" in form


def test_unchanged_services_send_nothing(admin_client, admin):
    member = holding(member_of(admin), validated=[FILES])
    response = admin_client.post(
        url("member_services", admin.legal_unit_id, member.pk), {"services": [service(FILES).pk]}, follow=True
    )
    assert "Aucun changement" in page(response)
    assert not Email.objects.exists()
    assert not AuditEntry.objects.exists()


def test_leaving_a_request_out_of_the_services_needs_a_reason(admin_client, admin):
    member = holding(member_of(admin), validated=[FILES], requested=[LOANS])
    response = admin_client.post(url("member_services", admin.legal_unit_id, member.pk), {"services": []})
    assert "Indiquez le motif du refus des services demandés" in page(response)
    assert states(member) == {FILES: "validated", LOANS: "requested"}
    assert not Email.objects.exists()

    set_member_services(membership=member, by=admin.user, services=[], reason=REASON)
    assert states(member) == {FILES: "deactivated", LOANS: "refused"}
    body = Email.objects.get(template="member_services_changed").body_text
    assert "Vous n'avez plus accès à aucun service de cette structure." in body


@pytest.mark.parametrize("return_to", ["home", ""])
def test_the_admin_grants_a_pending_request(admin_client, admin, return_to):
    member = holding(member_of(admin), requested=[LOANS])
    request_ = member.habilitations.get()

    response = admin_client.post(
        url("validate_request", admin.legal_unit_id, request_.pk), {"return_to": return_to}
    )

    expected = (
        url("home", admin.legal_unit_id) if return_to else url("member", admin.legal_unit_id, member.pk)
    )
    assert response.url == expected
    request_.refresh_from_db()
    assert (request_.status, request_.changed_by) == (HabilitationStatus.VALIDATED, admin.user)
    [email] = emails_to(member.email, "member_habilitation_decided")
    assert email.subject == f"Votre accès au service « {LOANS} » est accordé"
    entry = AuditEntry.objects.get(action="habilitation.validated")
    assert (entry.actor, entry.target_id) == (admin.user, str(request_.pk))


def test_the_admin_refuses_a_pending_request_with_a_reason(admin_client, admin):
    member = holding(member_of(admin), requested=[LOANS])
    request_ = member.habilitations.get()
    refuse_url = url("refuse_request", admin.legal_unit_id, request_.pk)

    assert f"<h1>Refuser la demande du service « {LOANS} »</h1>" in page(admin_client.get(refuse_url))
    content = page(admin_client.post(refuse_url, {"reason": ""}))
    assert "Le formulaire contient des erreurs" in content
    assert error_next_to(content, "id_reason") == "Ce champ est obligatoire."
    request_.refresh_from_db()
    assert request_.status == HabilitationStatus.REQUESTED
    assert not Email.objects.exists()

    admin_client.post(refuse_url, {"reason": REASON})
    request_.refresh_from_db()
    assert (request_.status, request_.reason) == (HabilitationStatus.REFUSED, REASON)
    [email] = emails_to(member.email, "member_habilitation_decided")
    assert email.subject == f"Votre demande d'accès au service « {LOANS} » n'a pas été acceptée"
    assert REASON in email.body_text
    assert AuditEntry.objects.filter(action="habilitation.refused", actor=admin.user).exists()

    with pytest.raises(MemberError, match="déjà été traitée"):
        decide_habilitation(habilitation=request_, by=admin.user, accept=True)


def test_the_requests_of_a_pending_registration_are_decided_with_it(admin, pending):
    with pytest.raises(MemberError, match="en attente de validation"):
        decide_habilitation(habilitation=pending.habilitations.first(), by=admin.user, accept=True)


def test_the_admin_deactivates_then_reactivates_a_member(admin_client, admin):
    member = holding(member_of(admin), validated=[FILES, DOCUMENTS], requested=[LOANS])

    response = admin_client.post(
        url("deactivate_member", admin.legal_unit_id, member.pk),
        {"deactivation_reason": "Départ de la structure."},
        follow=True,
    )

    assert "L'accès de Valérie Dupont est désactivé" in page(response)
    member.refresh_from_db()
    assert (member.status, member.deactivation_reason) == (
        MembershipStatus.DEACTIVATED,
        "Départ de la structure.",
    )
    assert states(member) == {FILES: "deactivated", DOCUMENTS: "deactivated", LOANS: "requested"}
    [email] = emails_to(member.email, "member_deactivated")
    assert email.subject == "Votre accès à la structure SOC COOP HABITATION LOYER MODERE est désactivé"
    assert "Départ de la structure." in email.body_text
    entry = AuditEntry.objects.get(action="membership.deactivated")
    assert entry.details == {"removed": [FILES, DOCUMENTS], "reason": "Départ de la structure."}

    admin_client.post(url("reactivate_member", admin.legal_unit_id, member.pk))
    member.refresh_from_db()
    assert (member.status, member.deactivation_reason) == (MembershipStatus.APPROVED, "")
    assert states(member) == {FILES: "deactivated", DOCUMENTS: "deactivated", LOANS: "requested"}
    [email] = emails_to(member.email, "member_reactivated")
    assert email.subject == "Votre accès à la structure SOC COOP HABITATION LOYER MODERE est réactivé"
    assert AuditEntry.objects.filter(action="membership.reactivated", actor=admin.user).exists()


def test_the_admin_cannot_deactivate_themselves(admin_client, admin):
    holding(admin, validated=[FILES])
    content = page(admin_client.get(url("member", admin.legal_unit_id, admin.pk)))
    assert url("deactivate_member", admin.legal_unit_id, admin.pk) not in content

    response = admin_client.post(url("deactivate_member", admin.legal_unit_id, admin.pk), follow=True)

    assert "transmettez d'abord le rôle d'administrateur" in page(response)
    admin.refresh_from_db()
    assert (admin.status, admin.is_admin) == (MembershipStatus.APPROVED, True)
    assert states(admin) == {FILES: "validated"}
    assert not Email.objects.exists()


def test_a_service_no_longer_offered_is_not_granted_anew(admin):
    member = holding(member_of(admin), requested=[LOANS])
    Service.objects.filter(name__in=[LOANS, DATAVIZ]).update(is_active=False)
    with pytest.raises(MemberError, match="n'est plus proposé"):
        set_member_services(membership=member, by=admin.user, services=[service(LOANS), service(DATAVIZ)])
    assert states(member) == {LOANS: "requested"}
    # What the member asked for before the catalogue changed may still be granted.
    set_member_services(membership=member, by=admin.user, services=[service(LOANS)])
    assert states(member) == {LOANS: "validated"}


# The admin role ----------------------------------------------------------------------------------


def test_the_admin_hands_the_role_over(client, admin_client, admin):
    successor = member_of(admin)
    hand_over_url = url("hand_over_admin_role", admin.legal_unit_id, successor.pk)
    assert "<h1>Transmettre le rôle d'administrateur à Valérie Dupont</h1>" in page(
        admin_client.get(hand_over_url)
    )
    assert Membership.objects.get(pk=admin.pk).is_admin  # a GET changes nothing

    response = admin_client.post(hand_over_url)

    assert response.url == reverse("dashboard")
    assert list(Membership.objects.filter(legal_unit_id=admin.legal_unit_id, is_admin=True)) == [successor]
    assert admin_client.get(url("home", admin.legal_unit_id)).status_code == 404
    [received] = emails_to(successor.email, "member_admin_role_received")
    assert (
        received.subject
        == "Vous êtes désormais administrateur de la structure SOC COOP HABITATION LOYER MODERE"
    )
    assert "Pierre Durand vous a transmis le rôle d'administrateur" in received.body_text
    [handed] = emails_to(admin.email, "member_admin_role_handed_over")
    assert "à Valérie Dupont" in handed.body_text
    entry = AuditEntry.objects.get(action="membership.admin_role_handed_over")
    assert (entry.actor, entry.target_id, entry.details["from_membership"]) == (
        admin.user,
        str(successor.pk),
        admin.pk,
    )
    client.force_login(successor.user)
    assert client.get(url("home", admin.legal_unit_id)).status_code == 200

    # The former admin decides nothing more, even through the services.
    with pytest.raises(MemberError, match="plus"):
        deactivate_member(membership=successor, by=admin.user)


def test_the_role_goes_only_to_an_approved_member_of_the_organisation(admin, pending):
    outsider = MembershipFactory()
    for target in (pending, outsider, admin):
        with pytest.raises(MemberError):
            hand_over_admin_role(organisation_admin=admin, to_membership=target, by=admin.user)
    assert list(Membership.objects.filter(is_admin=True)) == [admin]


# Who may reach the pages -------------------------------------------------------------------------

# The object of an organisation each page names in its URL: the one it would change if it let the
# wrong person in. A page added to gestion_urls without an entry here fails the sweeps.
PAGE_TARGETS = {
    "home": None,
    "member": "approved",
    "approve_member": "pending",
    "refuse_member": "pending",
    "member_services": "approved",
    "deactivate_member": "approved",
    "reactivate_member": "deactivated",
    "hand_over_admin_role": "approved",
    "validate_request": "request",
    "refuse_request": "request",
}


def organisation_objects(admin) -> dict:
    approved = holding(member_of(admin, first_name="Jeanne"), validated=[FILES], requested=[LOANS])
    return {
        "pending": holding(member_of(admin, pending_admin=True, password=False), requested=[DOCUMENTS]),
        "approved": approved,
        "deactivated": holding(
            member_of(admin, status=MembershipStatus.DEACTIVATED), deactivated=[OUTSTANDING]
        ),
        "request": approved.habilitations.get(service__name=LOANS),
    }


def page_urls(siren: str, objects: dict):
    """Every page of the "gestion" namespace, with the organisation's object its URL names."""
    names = {pattern.name for pattern in gestion_urls.urlpatterns}
    assert names == set(PAGE_TARGETS), "every page of gestion_urls needs its object in PAGE_TARGETS"
    for pattern in gestion_urls.urlpatterns:
        target = PAGE_TARGETS[pattern.name]
        assert set(pattern.pattern.converters) == ({"pk"} if target else set()), pattern.name
        yield pattern.name, url(pattern.name, siren, objects[target].pk if target else None)


def everything_posted() -> dict:
    return {
        "services": list(Service.objects.values_list("pk", flat=True)),
        "reason": "Motif",
        "deactivation_reason": "Motif",
    }


def snapshot(siren: str):
    return (
        list(
            Membership.objects.filter(legal_unit_id=siren)
            .order_by("pk")
            .values_list("pk", "status", "is_admin", "refusal_reason", "deactivation_reason")
        ),
        list(
            Habilitation.objects.filter(membership__legal_unit_id=siren)
            .order_by("pk")
            .values_list("pk", "status", "reason")
        ),
        Email.objects.count(),
        AuditEntry.objects.count(),
        HabilitationEvent.objects.count(),
    )


def test_an_admin_reaches_nothing_of_another_organisation(admin_client, admin):
    organisation_objects(admin)
    other_admin = MembershipFactory(admin=True)
    theirs = organisation_objects(other_admin)
    their_siren = other_admin.legal_unit_id
    before = snapshot(their_siren)
    exercised = set()

    for name, their_url in page_urls(their_siren, theirs):
        for method in (admin_client.get, admin_client.post):
            assert method(their_url, everything_posted()).status_code == 404, (name, method)
        target = PAGE_TARGETS[name]
        if target:  # the admin's own organisation in the URL, the other one's object
            mixed = url(name, admin.legal_unit_id, theirs[target].pk)
            for method in (admin_client.get, admin_client.post):
                assert method(mixed, everything_posted()).status_code == 404, (name, method)
        exercised.add(name)

    assert exercised == set(PAGE_TARGETS)
    assert snapshot(their_siren) == before


@pytest.mark.parametrize("who", ["member", "pending member", "deactivated member", "staff"])
def test_only_the_admin_of_the_organisation_reaches_its_pages(client, admin, who):
    objects = organisation_objects(admin)
    visitor = {
        "member": lambda: member_of(admin).user,
        "pending member": lambda: member_of(admin, pending_admin=True).user,
        "deactivated member": lambda: member_of(admin, status=MembershipStatus.DEACTIVATED).user,
        "staff": lambda: UserFactory(staff=True, is_superuser=True),
    }[who]()
    client.force_login(visitor)
    before = snapshot(admin.legal_unit_id)
    exercised = set()

    for name, page_url in page_urls(admin.legal_unit_id, objects):
        for method in (client.get, client.post):
            assert method(page_url, everything_posted()).status_code == 404, (name, method)
        exercised.add(name)

    assert exercised == set(PAGE_TARGETS)
    assert snapshot(admin.legal_unit_id) == before


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, admin):
    objects = organisation_objects(admin)
    before = snapshot(admin.legal_unit_id)
    for name, page_url in page_urls(admin.legal_unit_id, objects):
        for method in (client.get, client.post):
            response = method(page_url, everything_posted())
            assert response.status_code == 302, (name, method)
            assert response.url.startswith(reverse("login") + "?next="), name
    assert snapshot(admin.legal_unit_id) == before


def test_changes_are_post_only(admin_client, admin):
    objects = organisation_objects(admin)
    before = snapshot(admin.legal_unit_id)
    post_only = {
        "approve_member",
        "member_services",
        "deactivate_member",
        "reactivate_member",
        "validate_request",
    }
    for name, page_url in page_urls(admin.legal_unit_id, objects):
        expected = 405 if name in post_only else 200
        assert admin_client.get(page_url).status_code == expected, name
    assert snapshot(admin.legal_unit_id) == before


# Races -------------------------------------------------------------------------------------------


def race(*works):
    """Run the callables in threads released at once; their results or exceptions, in order."""
    barrier = threading.Barrier(len(works))
    results = [None] * len(works)

    def run(index, work):
        try:
            barrier.wait()
            results[index] = work()
        except Exception as error:  # the test looks at every outcome
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(works)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_tabs_deciding_at_once_make_one_decision_and_leave_one_admin(admin, pending):
    outcomes = race(
        lambda: approve_member(membership=pending, by=admin.user, services=[service(LOANS), service(FILES)]),
        lambda: refuse_member(membership=pending, by=admin.user, reason="Inconnu du service."),
    )
    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["MemberError", "Membership"]
    pending.refresh_from_db()
    expected = "validated" if pending.status == MembershipStatus.APPROVED else "refused"
    assert states(pending) == {LOANS: expected, FILES: expected}
    assert Email.objects.filter(to_email=pending.email, template__startswith="member_").count() == 1

    first, second = member_of(admin, first_name="Jeanne"), member_of(admin, first_name="Marc")
    outcomes = race(
        *(
            lambda target=target: hand_over_admin_role(
                organisation_admin=admin, to_membership=target, by=admin.user
            )
            for target in (first, second)
        )
    )
    [successor] = [outcome for outcome in outcomes if isinstance(outcome, Membership)]
    assert isinstance(next(outcome for outcome in outcomes if outcome is not successor), MemberError)
    assert list(Membership.objects.filter(legal_unit_id=admin.legal_unit_id, is_admin=True)) == [successor]
