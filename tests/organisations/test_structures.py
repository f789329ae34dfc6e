"""The member's pages about their structures (DESIGN §4; reference bdt-espace-personnel-
habilitations.txt, "Gestion des structures", "Modification des informations au sein de la
structure"): phone, e-mail confirmed by a code, function, detaching; and who may reach them."""

import datetime
import html
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from habilitations.enums import HabilitationStatus
from habilitations.models import Habilitation, HabilitationEvent, Service
from mailings.enums import LetterStatus
from mailings.models import Email
from organisations import delegation, structure_urls
from organisations.enums import AdminClaimStatus, MembershipStatus
from organisations.models import ClientNumber, EmailChange, Function, Membership
from organisations.profile import ProfileError, detach_structure
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
NEW_ADDRESS = "cendrine.martin@eus.fr"
HUGE = "9" * 100_000
CONTROL = "Cendrine\x07\x1b[31m"


def page(response) -> str:
    return html.unescape(response.content.decode())


def url(name: str, membership) -> str:
    return reverse(f"structures:{name}", kwargs={"pk": membership.pk})


def error_next_to(content: str, field_id: str) -> str:
    """The first error the page shows under a field (DSFR: the field's own error list)."""
    found = re.search(rf'<ul class="errorlist" id="{field_id}_error"><li[^>]*>(.*?)</li>', content, re.DOTALL)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip() if found else ""


def error_summary(content: str) -> str:
    found = re.search(
        r'<div class="fr-alert fr-alert--error[^"]*"[^>]*id="form-errors">(.*?)</div>', content, re.DOTALL
    )
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip() if found else ""


def emails_to(address: str, template: str) -> list[Email]:
    return list(Email.objects.filter(to_email=address, template=template).order_by("pk"))


def code_in(email: Email) -> str:
    return re.search(r"^(\d{6})$", email.body_text, re.MULTILINE).group(1)


def service(name: str) -> Service:
    return Service.objects.get(name=name)


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


def snapshot(membership) -> tuple:
    """What a request must not change: the row, its e-mail changes, services, e-mails, audit."""
    return (
        Membership.objects.filter(pk=membership.pk).values().get(),
        list(
            EmailChange.objects.filter(membership=membership).values_list(
                "pk", "email", "tries", "confirmed_at"
            )
        ),
        list(Habilitation.objects.filter(membership=membership).order_by("pk").values_list("pk", "status")),
        Email.objects.count(),
        AuditEntry.objects.count(),
        HabilitationEvent.objects.count(),
    )


@pytest.fixture
def member():
    return MembershipFactory(
        user=UserFactory(first_name="Cendrine", last_name="Martin"),
        establishment__legal_unit__denomination="COMMUNE D'EUS",
        phone_landline="+33708091011",
        phone_mobile="",
    )


@pytest.fixture
def member_client(client, member):
    client.force_login(member.user)
    return client


def other_function(membership) -> Function:
    """An active function of another category than the member's."""
    return (
        Function.objects.filter(is_active=True, category__is_active=True)
        .exclude(category=membership.category)
        .select_related("category")
        .first()
    )


# The structure page ------------------------------------------------------------------------------


def test_the_page_shows_the_structure_and_the_members_information(member_client, member):
    ClientNumber.objects.create(number="4512", siren=member.legal_unit_id, name="COMMUNE D'EUS")

    content = page(member_client.get(url("detail", member)))

    assert "COMMUNE D'EUS</h1>" in content
    assert member.legal_unit_id in content
    assert member.establishment_id in content
    assert "Numéro client (code tiers)" in content
    assert "4512" in content
    assert "validée" in content
    assert "07 08 09 10 11" in content
    assert member.email in content
    assert member.function.name in content
    assert member.category.name in content
    for name, label in [
        ("phone", "Modifier mon numéro de téléphone"),
        ("email", "Modifier mon adresse électronique"),
        ("function", "Modifier ma fonction"),
        ("detach", "Supprimer une structure"),
    ]:
        assert f'href="{url(name, member)}">{label}' in content
    assert "obligatoire pour demander certains services" in content
    assert f"Services concernés : {LOANS}, Validation de demandes de prêts." in content


def test_without_client_number_or_function_the_page_says_so(member_client, member):
    Membership.objects.filter(pk=member.pk).update(category=None, function=None)

    content = page(member_client.get(url("detail", member)))

    assert "Numéro client" not in content
    assert "Non renseignée" in content
    assert "obligatoire pour demander certains services" in content


def test_an_admin_finds_the_gestion_page_from_the_structure(client):
    admin = MembershipFactory(admin=True)
    client.force_login(admin.user)
    content = page(client.get(url("detail", admin)))
    assert reverse("gestion:home", kwargs={"siren": admin.legal_unit_id}) in content
    assert "administrateur" in content


# Phone -------------------------------------------------------------------------------------------


def test_changing_the_phone(member_client, member):
    form = page(member_client.get(url("phone", member)))
    assert "<h1>Modifier mon numéro de téléphone</h1>" in form
    assert 'value="07 08 09 10 11"' in form
    assert ">Valider</button>" in form
    assert f'href="{url("detail", member)}">Annuler</a>' in form

    response = member_client.post(
        url("phone", member),
        {"phone_landline": "03.83.12.34.56", "phone_mobile": "06 12 34 56 78"},
        follow=True,
    )

    member.refresh_from_db()
    assert (member.phone_landline, member.phone_mobile) == ("+33383123456", "+33612345678")
    content = page(response)
    assert "Votre numéro de téléphone est modifié" in content
    assert "03 83 12 34 56" in content
    assert "06 12 34 56 78" in content
    [email] = emails_to(member.email, "structure_phone_changed")
    assert email.subject == "Votre numéro de téléphone dans la structure COMMUNE D'EUS est modifié"
    assert "Téléphone fixe : 03 83 12 34 56" in email.body_text
    assert "Téléphone portable : 06 12 34 56 78" in email.body_text
    entry = AuditEntry.objects.get(action="structure.phone_changed")
    assert (entry.actor, entry.target_id) == (member.user, str(member.pk))
    assert entry.details == {
        "phone_landline": {"old": "+33708091011", "new": "+33383123456"},
        "phone_mobile": {"old": "", "new": "+33612345678"},
    }


def test_the_same_phone_changes_nothing(member_client, member):
    before = snapshot(member)
    response = member_client.post(url("phone", member), {"phone_landline": "07 08 09 10 11"}, follow=True)
    assert "Aucun changement" in page(response)
    assert snapshot(member) == before


def test_the_phone_e_mail_reaches_the_member(member, django_capture_on_commit_callbacks, client):
    client.force_login(member.user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("phone", member), {"phone_landline": "0383123456"})
    [message] = mail.outbox
    assert message.to == [member.email]
    assert "03 83 12 34 56" in message.body
    assert "03 83 12 34 56" in message.alternatives[0][0]


# Function ----------------------------------------------------------------------------------------


def test_the_function_list_is_grouped_by_category(member_client, member):
    content = page(member_client.get(url("function", member)))
    assert "<h1>Modifier ma fonction</h1>" in content
    assert "obligatoire pour demander certains services" in content
    assert f'<optgroup label="{member.category.name}">' in content
    assert re.search(rf'<option value="{member.function_id}"[^>]* selected>', content)
    hidden = Function.objects.filter(is_active=False).first() or Function.objects.create(
        category=member.category, name="Fonction retirée", is_active=False
    )
    assert f'value="{hidden.pk}"' not in content


def test_changing_the_function_sets_its_category(member_client, member):
    function = other_function(member)
    old = {"category": member.category.name, "function": member.function.name}

    response = member_client.post(url("function", member), {"function": function.pk}, follow=True)

    member.refresh_from_db()
    assert (member.function, member.category) == (function, function.category)
    content = page(response)
    assert "Votre fonction est modifiée" in content
    assert function.name in content
    [email] = emails_to(member.email, "structure_function_changed")
    assert f"est désormais : {function.name} ({function.category.name})" in email.body_text
    entry = AuditEntry.objects.get(action="structure.function_changed")
    assert entry.actor == member.user
    assert entry.details == {
        "old": old,
        "new": {"category": function.category.name, "function": function.name},
    }


def test_a_structure_added_without_a_function_gets_one(member_client, member):
    Membership.objects.filter(pk=member.pk).update(category=None, function=None)
    function = other_function(member)
    member_client.post(url("function", member), {"function": function.pk})
    member.refresh_from_db()
    assert (member.function, member.category) == (function, function.category)
    entry = AuditEntry.objects.get(action="structure.function_changed")
    assert entry.details["old"] == {"category": "", "function": ""}


def test_a_function_no_longer_offered_is_refused(member_client, member):
    function = other_function(member)
    Function.objects.filter(pk=function.pk).update(is_active=False)
    before = snapshot(member)
    content = page(member_client.post(url("function", member), {"function": function.pk}))
    assert "Sélectionnez un choix valide" in error_next_to(content, "id_function")
    assert snapshot(member) == before


# E-mail address ----------------------------------------------------------------------------------


def ask_for(client, member, address=NEW_ADDRESS):
    return client.post(url("email", member), {"email": address})


def test_a_new_address_counts_only_once_its_code_is_typed(member_client, member):
    old_address = member.email
    response = ask_for(member_client, member, "  Cendrine.MARTIN@Eus.fr ")
    assert response.status_code == 302
    assert response.url == url("email_confirm", member)

    # The code goes to the new address; the old one stays in force.
    change = EmailChange.objects.get(membership=member)
    assert change.email == NEW_ADDRESS
    assert abs(change.expires_at - change.created_at - datetime.timedelta(minutes=10)) < datetime.timedelta(
        seconds=1
    )
    [code_email] = emails_to(NEW_ADDRESS, "structure_email_code")
    code = code_in(code_email)
    assert code not in change.code_hash
    assert code not in code_email.subject
    member.refresh_from_db()
    assert member.email == old_address
    entry = AuditEntry.objects.get(action="structure.email_change_requested")
    assert entry.details == {"old": old_address, "new": NEW_ADDRESS}
    detail = page(member_client.get(url("detail", member)))
    assert f"Une confirmation est en attente pour la nouvelle adresse {NEW_ADDRESS}" in detail
    assert f"<dd>{old_address}</dd>" in detail
    confirm_page = page(member_client.get(url("email_confirm", member)))
    assert f"Saisissez le code envoyé à {NEW_ADDRESS}" in confirm_page

    response = member_client.post(url("email_confirm", member), {"code": code}, follow=True)

    member.refresh_from_db()
    assert member.email == NEW_ADDRESS
    content = page(response)
    assert f"Votre adresse électronique est désormais {NEW_ADDRESS}" in content
    assert f"<dd>{NEW_ADDRESS}</dd>" in content
    assert "Une confirmation est en attente" not in content
    change.refresh_from_db()
    assert change.confirmed_at is not None
    [to_old] = emails_to(old_address, "structure_email_changed")
    assert f"est désormais {NEW_ADDRESS} : elle remplace {old_address}" in to_old.body_text
    assert len(emails_to(NEW_ADDRESS, "structure_email_changed")) == 1
    entry = AuditEntry.objects.get(action="structure.email_changed")
    assert (entry.actor, entry.target_id) == (member.user, str(member.pk))
    assert entry.details == {"old": old_address, "new": NEW_ADDRESS}
    # The code served once.
    assert "n'est plus valable" not in page(member_client.get(url("email", member)))
    response = member_client.get(url("email_confirm", member), follow=True)
    assert "Aucun changement d'adresse électronique n'attend de confirmation" in page(response)


def test_wrong_codes_say_the_tries_left_then_the_code_is_spent(member_client, member):
    old_address = member.email
    ask_for(member_client, member)
    code = code_in(emails_to(NEW_ADDRESS, "structure_email_code")[0])
    wrong = "000000" if code != "000000" else "111111"

    messages = []
    for _ in range(5):
        content = page(member_client.post(url("email_confirm", member), {"code": wrong}))
        messages.append(error_next_to(content, "id_code") or content)
    assert messages[:4] == [
        "Code incorrect. Il vous reste 4 essais.",
        "Code incorrect. Il vous reste 3 essais.",
        "Code incorrect. Il vous reste 2 essais.",
        "Code incorrect. Il vous reste 1 essai.",
    ]
    assert "Code incorrect. Ce code n'est plus valable : demandez un nouveau code." in messages[4]

    content = page(member_client.post(url("email_confirm", member), {"code": code}))
    assert "Ce code n'est plus valable : demandez un nouveau code." in content
    member.refresh_from_db()
    assert member.email == old_address
    assert EmailChange.objects.get(membership=member).tries == 5
    assert not AuditEntry.objects.filter(action="structure.email_changed").exists()
    assert not Email.objects.filter(template="structure_email_changed").exists()
    assert "Une confirmation est en attente" not in page(member_client.get(url("detail", member)))


def test_an_expired_code_is_refused(member_client, member):
    ask_for(member_client, member)
    code = code_in(emails_to(NEW_ADDRESS, "structure_email_code")[0])
    EmailChange.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    content = page(member_client.post(url("email_confirm", member), {"code": code}))

    assert "Ce code n'est plus valable : demandez un nouveau code." in content
    assert f"Recevoir un nouveau code à {NEW_ADDRESS}" in content
    member.refresh_from_db()
    assert member.email != NEW_ADDRESS


def test_a_new_code_replaces_the_previous_one(member_client, member):
    ask_for(member_client, member)
    ask_for(member_client, member)
    first, second = (code_in(email) for email in emails_to(NEW_ADDRESS, "structure_email_code"))
    if first != second:
        content = page(member_client.post(url("email_confirm", member), {"code": first}))
        assert "Code incorrect" in content
    member_client.post(url("email_confirm", member), {"code": second})
    member.refresh_from_db()
    assert member.email == NEW_ADDRESS


def test_at_most_five_codes_an_hour_go_to_one_address(member_client, member):
    for _ in range(5):
        assert ask_for(member_client, member).status_code == 302
    before = snapshot(member)

    content = page(ask_for(member_client, member))

    assert "Trop de codes ont été envoyés à cette adresse : réessayez dans une heure." in error_next_to(
        content, "id_email"
    )
    assert snapshot(member) == before
    assert len(emails_to(NEW_ADDRESS, "structure_email_code")) == 5


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("cendrine@gmail.com", "Les adresses de messageries personnelles (gmail.com) ne sont pas acceptées"),
        ("pas-une-adresse", "Saisissez une adresse de courriel valide."),
        ("", "Ce champ est obligatoire."),
    ],
)
def test_a_wrong_address_is_refused(member_client, member, address, message):
    before = snapshot(member)
    content = page(ask_for(member_client, member, address))
    assert message in error_next_to(content, "id_email")
    assert message in error_summary(content)
    assert snapshot(member) == before


def test_the_current_address_is_not_a_change(member_client, member):
    before = snapshot(member)
    content = page(ask_for(member_client, member, member.email.upper()))
    assert "C'est déjà l'adresse électronique de votre inscription" in error_next_to(content, "id_email")
    assert snapshot(member) == before


def test_the_code_e_mail_reaches_the_new_address(member, client, django_capture_on_commit_callbacks):
    client.force_login(member.user)
    with django_capture_on_commit_callbacks(execute=True):
        ask_for(client, member)
    [message] = mail.outbox
    assert message.to == [NEW_ADDRESS]
    code = re.search(r"^(\d{6})$", message.body, re.MULTILINE).group(1)
    assert code in message.alternatives[0][0]
    assert "valable 10 minutes" in message.body


# Invalid input -----------------------------------------------------------------------------------


VALID = {
    "phone_landline": "01 23 45 67 89",
    "phone_mobile": "",
    "email": NEW_ADDRESS,
    "code": "123456",
}
FIELDS = {
    "phone": ["phone_landline", "phone_mobile"],
    "email": ["email"],
    "function": ["function"],
    "email_confirm": ["code"],
}
BAD_VALUES = {"huge number": HUGE, "huge text": "x" * 100_000, "control characters": CONTROL, "nul": "\x00"}


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        pytest.param(name, field, value, id=f"{field}-{label}")
        for name, fields in FIELDS.items()
        for field in fields
        for label, value in {**BAD_VALUES, **({} if field == "phone_mobile" else {"blank": "  "})}.items()
    ],
)
def test_invalid_input_is_shown_next_to_the_field_and_saves_nothing(
    member_client, member, name, field, value
):
    if name == "email_confirm":
        ask_for(member_client, member)
    data = {**VALID, "function": other_function(member).pk, field: value}
    before = snapshot(member)

    response = member_client.post(url(name, member), data)

    assert response.status_code == 200
    content = page(response)
    error = error_next_to(content, f"id_{field}")
    assert error
    assert error in error_summary(content)
    assert snapshot(member) == before


# Detaching ---------------------------------------------------------------------------------------


def test_detaching_deactivates_the_rights_and_keeps_the_history(member_client, member):
    holding(
        member, validated=[FILES, DOCUMENTS], requested=[LOANS], refused=[OUTSTANDING], deactivated=[DATAVIZ]
    )
    event = HabilitationEvent.objects.create(
        habilitation=member.habilitations.get(service__name=FILES),
        from_status="requested",
        to_status="validated",
    )
    confirmation = page(member_client.get(url("detach", member)))
    assert "<h1>Supprimer la structure COMMUNE D'EUS</h1>" in confirmation
    assert "les services auxquels vous y avez accès seront désactivés" in confirmation
    assert "L'historique de vos droits est conservé" in confirmation

    response = member_client.post(url("detach", member))

    assert response.status_code == 302
    assert response.url == reverse("dashboard")
    member.refresh_from_db()
    assert member.status == MembershipStatus.DETACHED
    states = dict(member.habilitations.values_list("service__name", "status"))
    assert states == {
        FILES: HabilitationStatus.DEACTIVATED,
        DOCUMENTS: HabilitationStatus.DEACTIVATED,
        LOANS: HabilitationStatus.REFUSED,
        OUTSTANDING: HabilitationStatus.REFUSED,
        DATAVIZ: HabilitationStatus.DEACTIVATED,
    }
    reasons = dict(member.habilitations.values_list("service__name", "reason"))
    assert reasons[FILES] == reasons[LOANS] == "Structure supprimée par l'utilisateur"
    assert reasons[OUTSTANDING] == "Motif précédent"
    assert HabilitationEvent.objects.filter(pk=event.pk).exists()
    steps = HabilitationEvent.objects.filter(habilitation__membership=member).exclude(pk=event.pk)
    assert sorted(steps.values_list("habilitation__service__name", "to_status", "by")) == [
        (FILES, "deactivated", member.user.pk),
        (LOANS, "refused", member.user.pk),
        (DOCUMENTS, "deactivated", member.user.pk),
    ]
    [email] = emails_to(member.email, "structure_detached")
    assert email.subject == "La structure COMMUNE D'EUS est supprimée de votre espace"
    assert f"Services désactivés :\n- {FILES}\n- {DOCUMENTS}" in email.body_text
    assert f"Demandes de services refusées :\n- {LOANS}" in email.body_text
    entry = AuditEntry.objects.get(action="structure.detached")
    assert (entry.actor, entry.target_id) == (member.user, str(member.pk))
    assert entry.details == {
        "deactivated": [FILES, DOCUMENTS],
        "refused": [LOANS],
        "admin_claim_withdrawn": False,
    }
    assert AuditEntry.objects.filter(action="habilitation.deactivated", actor=member.user).count() == 2

    dashboard = page(member_client.get(response.url))
    assert "La structure COMMUNE D'EUS est supprimée de votre espace" in dashboard
    for name in ("detail", "phone", "email", "function", "detach"):
        assert member_client.get(url(name, member)).status_code == 404, name


def test_an_admin_hands_the_role_over_before_detaching(client):
    admin = holding(MembershipFactory(admin=True), validated=[FILES])
    client.force_login(admin.user)
    gestion = reverse("gestion:home", kwargs={"siren": admin.legal_unit_id})
    content = page(client.get(url("detach", admin)))
    assert "transmettez le rôle d'administrateur à un autre membre" in content
    assert f'href="{gestion}"' in content
    assert "Supprimer la structure</button>" not in content
    before = snapshot(admin)

    content = page(client.post(url("detach", admin)))

    assert "transmettez d'abord le rôle d'administrateur à un autre membre" in content
    assert f'href="{gestion}"' in content
    assert snapshot(admin) == before
    with pytest.raises(ProfileError):
        detach_structure(membership=admin, by=admin.user)


def test_detaching_withdraws_a_claim_of_the_admin_role(client, settings):
    settings.PORTAL_ONBOARDING_RULES = ["R1", "R3"]
    claimant = MembershipFactory(pending_admin=True)
    waiting = MembershipFactory(pending_admin=True, establishment=claimant.establishment)
    claim = delegation.claim_admin_role(membership=claimant)
    assert claim.letter.status == LetterStatus.TO_PRINT
    client.force_login(claimant.user)

    client.post(url("detach", claimant))

    claim.refresh_from_db()
    claim.letter.refresh_from_db()
    assert claim.status == AdminClaimStatus.LAPSED
    assert claim.letter.status == LetterStatus.CANCELLED
    assert AuditEntry.objects.get(action="structure.detached").details["admin_claim_withdrawn"] is True
    # The letter's code can no longer make the removed membership the admin.
    result = delegation.activate_admin_role(
        user=claimant.user, siren=claimant.legal_unit_id, code="ABCDE-FGHJK"
    )
    assert result.membership is None
    assert emails_to(waiting.email, "admin_role_offered")


# Who may reach the pages -------------------------------------------------------------------------


def every_page(membership):
    names = [pattern.name for pattern in structure_urls.urlpatterns]
    assert names, "structure_urls has no pages"
    for pattern in structure_urls.urlpatterns:
        assert set(pattern.pattern.converters) == {"pk"}, pattern.name
        yield pattern.name, url(pattern.name, membership)


def everything_posted(membership) -> dict:
    return {
        "phone_landline": "01 23 45 67 89",
        "phone_mobile": "06 12 34 56 78",
        "email": "intrus@ailleurs.fr",
        "function": other_function(membership).pk,
        "code": "123456",
    }


def test_another_users_structure_is_a_404_on_every_page(member_client, member):
    theirs = holding(MembershipFactory(), validated=[FILES], requested=[LOANS])
    EmailChange.objects.create(
        membership=theirs,
        email="leur.adresse@ailleurs.fr",
        code_hash="x",
        salt="y",
        expires_at=timezone.now() + datetime.timedelta(minutes=10),
    )
    before = snapshot(theirs)
    exercised = set()

    for name, their_url in every_page(theirs):
        for method in (member_client.get, member_client.post):
            assert method(their_url, everything_posted(theirs)).status_code == 404, (name, method)
        exercised.add(name)

    assert exercised == {pattern.name for pattern in structure_urls.urlpatterns}
    assert snapshot(theirs) == before


def test_a_detached_structure_is_a_404_on_every_page(member_client, member):
    Membership.objects.filter(pk=member.pk).update(status=MembershipStatus.DETACHED)
    before = snapshot(member)
    for name, page_url in every_page(member):
        for method in (member_client.get, member_client.post):
            assert method(page_url, everything_posted(member)).status_code == 404, (name, method)
    assert snapshot(member) == before


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, member):
    before = snapshot(member)
    for name, page_url in every_page(member):
        for method in (client.get, client.post):
            response = method(page_url, everything_posted(member))
            assert response.status_code == 302, (name, method)
            assert response.url.startswith(reverse("login") + "?next="), name
    assert snapshot(member) == before


@pytest.mark.parametrize(
    "status",
    [
        MembershipStatus.PENDING_ADMIN,
        MembershipStatus.PENDING_STAFF,
        MembershipStatus.REFUSED,
        MembershipStatus.DEACTIVATED,
    ],
)
def test_every_structure_not_removed_has_its_page(client, status):
    membership = MembershipFactory(
        status=status, refusal_reason="Motif" if status == MembershipStatus.REFUSED else ""
    )
    client.force_login(membership.user)
    content = page(client.get(url("detail", membership)))
    assert membership.get_status_display() in content
