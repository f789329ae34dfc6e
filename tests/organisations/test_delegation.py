"""Delegated administration (R1, R3): the first user claims the admin role, a letter goes to the
legal representative, the code makes them admin; later users wait for that admin."""

import datetime
import io
import re

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from accounts.models import User
from habilitations.enums import HabilitationStatus
from mailings.enums import LetterStatus
from mailings.models import Letter
from organisations import delegation
from organisations.enums import AdminClaimStatus, MembershipStatus, OnboardingRule
from organisations.models import AdminClaim, ClientNumber, Membership
from portal.audit.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.accounts.helpers import sent_to, text
from tests.accounts.test_signup import code_from_mail, confirm, contact_data, post_step, walk_to_confirmation
from tests.habilitations.factories import ServiceFactory
from tests.organisations.factories import EstablishmentFactory, LegalUnitFactory, MembershipFactory

pytestmark = pytest.mark.django_db
STAFF_EMAIL = "instruction@operateur.localhost"


@pytest.fixture(autouse=True)
def _bdt(settings):
    settings.CAPTCHA_TEST_MODE = True
    settings.PORTAL_ONBOARDING_RULES = ["R1", "R3"]
    settings.PORTAL_STAFF_EMAIL = STAFF_EMAIL
    settings.PORTAL_CHOOSE_IDENTIFIANT = True


@pytest.fixture
def establishment():
    unit = LegalUnitFactory(siren="217500016", denomination="COMMUNE DE PARIS", legal_category="7210")
    return EstablishmentFactory(
        legal_unit=unit,
        siret="21750001600019",
        street_number="4",
        street_type="PL",
        street_name="DE L'HOTEL DE VILLE",
        postal_code="75004",
        city="PARIS",
        commune_code="75104",
    )


def pdf_text(letter: Letter) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(bytes(letter.pdf))).pages)


def letter_code(letter: Letter) -> str:
    return re.search(r"\b([A-Z0-9]{5}-[A-Z0-9]{5})\b", pdf_text(letter)).group(1)


def sign_up(client, establishment, django_capture_on_commit_callbacks, *, accept_role=True, **contact):
    """The whole wizard and its e-mail code; returns the result page."""
    client.cookies.clear()
    walk_to_confirmation(client, establishment, **contact)
    extra = {"confirmation-accept_admin_role": "on"} if accept_role else {}
    response, code = code_from_mail(django_capture_on_commit_callbacks, lambda: confirm(client, **extra))
    assert response.status_code == 302, text(response)
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(response.url, {"code": code}, follow=True)


def claim_for(establishment) -> AdminClaim:
    return AdminClaim.objects.get(legal_unit=establishment.legal_unit, status__in=["pending", "blocked"])


# The first user ----------------------------------------------------------------------------------


def test_the_first_user_must_accept_the_admin_role(client, establishment):
    walk_to_confirmation(client, establishment)
    page = text(client.get(reverse("signup_step", kwargs={"step": "confirmation"})))
    assert "Vous êtes le premier utilisateur pour l'organisme « COMMUNE DE PARIS »" in page
    assert "représentant légal" in page
    response = confirm(client)  # the role box left unchecked
    assert response.status_code == 200
    assert "acceptez le rôle d'administrateur pour poursuivre votre inscription" in text(response)
    assert not AdminClaim.objects.exists()


def test_the_first_user_claims_the_role_and_a_letter_goes_to_the_head_office(
    client, establishment, django_capture_on_commit_callbacks
):
    secondary = EstablishmentFactory(
        legal_unit=establishment.legal_unit, is_siege=False, street_name="RUE DE RIVOLI", postal_code="75001"
    )
    page = text(
        sign_up(
            client, establishment.__class__.objects.get(pk=secondary.pk), django_capture_on_commit_callbacks
        )
    )
    assert "Votre compte a été créé avec succès" in page
    assert "Un code d'activation a été envoyé par courrier à votre représentant légal" in page
    assert "Votre identifiant : cmartin" in page

    membership = Membership.objects.get()
    assert (membership.status, membership.rule, membership.is_admin) == (
        MembershipStatus.PENDING_ACTIVATION,
        OnboardingRule.R3_DELEGATED_ADMIN,
        False,
    )
    assert membership.user.identifiant == "cmartin"
    claim = claim_for(establishment)
    assert claim.membership == membership
    expires = timezone.localtime(claim.expires_at)
    assert expires.date() == timezone.localdate() + datetime.timedelta(days=30)
    assert (expires.hour, expires.minute) == (23, 59)  # the whole day the letter names
    letter = Letter.objects.get()
    assert claim.letter == letter
    assert letter.status == LetterStatus.TO_PRINT
    content = pdf_text(letter)
    code = letter_code(letter)
    # The letter goes to the head office, whichever establishment the applicant chose.
    assert "À l'attention du représentant légal" in content
    assert "4 PL DE L'HOTEL DE VILLE" in content
    assert "75004 PARIS" in content
    assert "RIVOLI" not in content
    assert "Camille Martin" in content
    assert "cmartin" in content
    # Only a hash of the code is kept, and it is not in any e-mail or audit entry.
    assert code not in claim.code_hash
    assert claim.code_hash.startswith("argon2")
    assert all(code not in message.body for message in mail.outbox)
    assert not AuditEntry.objects.filter(details__icontains=code.replace("-", "")).exists()
    alphabet = set(delegation.CODE_ALPHABET)
    assert len(code.replace("-", "")) >= 8
    assert set(code.replace("-", "")) <= alphabet
    assert not set("01OIL58SB") & alphabet

    started, access = sent_to("camille.martin@paris.fr")[-2:]
    assert "courrier" in started.subject
    assert "cmartin" in started.body
    assert "/acces/" in access.body  # to choose a password, then log in and type the code


@pytest.mark.parametrize(
    ("identifiant", "message"),
    [
        ("commune-de-paris", "N'utilisez pas le nom de votre organisme"),
        ("COMMUNEDEPARIS", "N'utilisez pas le nom de votre organisme"),
        ("217500016", "N'utilisez pas le SIREN, le SIRET ou le numéro client"),
        ("paris217500016", "N'utilisez pas le SIREN, le SIRET ou le numéro client"),
        ("00237517", "N'utilisez pas le SIREN, le SIRET ou le numéro client"),
        ("Déjà.Pris", "L'identifiant commence par une lettre ou un chiffre et ne contient que"),
        ("DEJA.PRIS", "Cet identifiant est déjà pris"),
        ("ab", "au moins 3 caractères"),
    ],
)
def test_the_identifiant_is_unique_and_not_the_organisation(client, establishment, identifiant, message):
    ClientNumber.objects.create(number="237517", siren="217500016", name="COMMUNE DE PARIS")
    UserFactory(identifiant="deja.pris")
    client.get(reverse("signup"), follow=True)
    from tests.accounts.test_signup import function_data

    post_step(client, "fonction", function_data())
    post_step(
        client, "organisme", {"query": establishment.siret, "postal_code": "", "siret": establishment.siret}
    )
    response = post_step(client, "coordonnees", contact_data(identifiant=identifiant))
    assert response.status_code == 200
    page = text(response)
    assert message in page
    assert (
        'aria-describedby="id_coordonnees-identifiant-desc-error' in page
        or "id_coordonnees-identifiant" in page
    )


def test_two_admins_or_two_open_claims_are_refused_by_the_database(establishment):
    MembershipFactory(establishment=establishment, admin=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        MembershipFactory(establishment=establishment, admin=True)
    first = MembershipFactory(establishment=establishment, pending_activation=True)
    second = MembershipFactory(establishment=establishment, pending_activation=True)
    now = timezone.now()
    AdminClaim.objects.create(membership=first, legal_unit=first.legal_unit, expires_at=now, code_hash="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        AdminClaim.objects.create(
            membership=second, legal_unit=second.legal_unit, expires_at=now, code_hash="x"
        )


# Later users -------------------------------------------------------------------------------------


def test_a_later_user_chooses_services_and_the_admin_is_told(
    client, establishment, django_capture_on_commit_callbacks
):
    admin = MembershipFactory(establishment=establishment, admin=True)
    loans = ServiceFactory(name="Création de demandes de prêts")
    ServiceFactory(name="Consultation des encours")
    client.get(reverse("signup"), follow=True)
    from tests.accounts.test_signup import function_data

    post_step(client, "fonction", function_data())
    post_step(
        client, "organisme", {"query": establishment.siret, "postal_code": "", "siret": establishment.siret}
    )
    page = text(client.get(reverse("signup_step", kwargs={"step": "coordonnees"})))
    assert "Choisissez les services que vous souhaitez utiliser" in page
    assert "Consultation des encours" in page
    assert post_step(client, "coordonnees", contact_data(services=[loans.pk])).status_code == 302
    page = text(client.get(reverse("signup_step", kwargs={"step": "confirmation"})))
    assert "premier utilisateur" not in page
    assert "Un courriel sera envoyé à l'administrateur de votre organisme" in page
    response, code = code_from_mail(django_capture_on_commit_callbacks, lambda: confirm(client))
    with django_capture_on_commit_callbacks(execute=True):
        page = text(client.post(response.url, {"code": code}, follow=True))
    assert "Un courriel a été envoyé à l'administrateur de votre organisme" in page

    membership = Membership.objects.get(user__email="camille.martin@paris.fr")
    assert (membership.status, membership.rule) == (
        MembershipStatus.PENDING_ADMIN,
        OnboardingRule.R1_ORGANISATION_ADMIN,
    )
    assert [(h.service.name, h.status) for h in membership.habilitations.all()] == [
        ("Création de demandes de prêts", HabilitationStatus.REQUESTED)
    ]
    (to_admin,) = sent_to(admin.email)
    assert "Camille Martin" in to_admin.body
    assert f"/structures/{establishment.siren}/gestion/membres/{membership.pk}/" in to_admin.body
    assert not Letter.objects.exists()


def test_while_a_letter_is_pending_later_users_wait_for_its_admin(
    client, establishment, django_capture_on_commit_callbacks
):
    first = MembershipFactory(establishment=establishment, pending_activation=True)
    with django_capture_on_commit_callbacks(execute=True):
        delegation.start_claim(membership=first)
    page = text(sign_up(client, establishment, django_capture_on_commit_callbacks, accept_role=False))
    assert "L'administrateur de votre organisme n'est pas encore désigné" in page
    waiting = Membership.objects.get(user__email="camille.martin@paris.fr")
    assert waiting.status == MembershipStatus.PENDING_ADMIN
    assert Letter.objects.count() == 1

    # Once the code is typed, the new admin is told who is waiting.
    code = letter_code(Letter.objects.get())
    with django_capture_on_commit_callbacks(execute=True):
        result = delegation.activate_admin_role(user=first.user, siren=establishment.siren, code=code)
    assert result.membership.is_admin
    activated = sent_to(first.email)[-1]
    assert "1 inscription attend votre validation" in activated.body
    assert "Camille Martin (camille.martin@paris.fr)" in activated.body


def test_a_lost_race_for_the_role_gets_a_clear_message(
    client, establishment, django_capture_on_commit_callbacks
):
    walk_to_confirmation(client, establishment)
    response, code = code_from_mail(
        django_capture_on_commit_callbacks,
        lambda: confirm(client, **{"confirmation-accept_admin_role": "on"}),
    )
    # Someone else's claim lands between this applicant's confirmation and their code.
    rival = MembershipFactory(establishment=establishment, pending_activation=True)
    delegation.start_claim(membership=rival)
    with django_capture_on_commit_callbacks(execute=True):
        page = text(client.post(response.url, {"code": code}, follow=True))
    assert "Un autre membre de votre organisme a demandé le rôle d'administrateur juste avant vous" in page
    assert (
        Membership.objects.get(user__email="camille.martin@paris.fr").status == MembershipStatus.PENDING_ADMIN
    )
    assert AdminClaim.objects.count() == 1


# Activation --------------------------------------------------------------------------------------


@pytest.fixture
def claimant(establishment, django_capture_on_commit_callbacks):
    membership = MembershipFactory(establishment=establishment, pending_activation=True)
    with django_capture_on_commit_callbacks(execute=True):
        delegation.start_claim(membership=membership)
    return membership


def activation_url(establishment):
    return reverse("admin_activation", kwargs={"siren": establishment.siren})


def test_after_login_the_claimant_is_asked_for_the_code(client, claimant, establishment):
    client.force_login(claimant.user)
    page = text(client.get(reverse("dashboard")))
    assert "Activez votre rôle d'administrateur de COMMUNE DE PARIS" in page
    assert f'action="{activation_url(establishment)}"' in page
    assert "Code d'activation" in page


def test_the_right_code_makes_the_claimant_admin(
    client, claimant, establishment, django_capture_on_commit_callbacks
):
    code = letter_code(claimant.admin_claims.get().letter)
    client.force_login(claimant.user)
    typed = code.lower().replace("-", " ")  # as read from paper
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(activation_url(establishment), {"code": typed})
    assert response.status_code == 302
    assert response["Location"] == reverse("gestion:home", kwargs={"siren": establishment.siren})
    claimant.refresh_from_db()
    assert claimant.is_admin
    assert claimant.status == MembershipStatus.APPROVED
    assert claimant.admin_claims.get().status == AdminClaimStatus.ACTIVATED
    assert "Vous êtes l'administrateur" in sent_to(claimant.email)[-1].subject
    assert AuditEntry.objects.filter(action="admin_claim.activated").count() == 1
    # The code served once: the page is gone.
    assert client.get(activation_url(establishment)).status_code == 404


def test_five_wrong_codes_block_it_and_staff_are_told(
    client, claimant, establishment, django_capture_on_commit_callbacks
):
    code = letter_code(claimant.admin_claims.get().letter)
    client.force_login(claimant.user)
    for left in (4, 3, 2, 1):
        page = text(client.post(activation_url(establishment), {"code": "AAAAA-AAAAA"}))
        assert f"Code incorrect. Il vous reste {left} essai" in page
    with django_capture_on_commit_callbacks(execute=True):
        page = text(client.post(activation_url(establishment), {"code": "AAAAA-AAAAA"}))
    assert "Ce code est bloqué après trop d'essais" in page
    claim = claimant.admin_claims.get()
    assert (claim.status, claim.tries) == (AdminClaimStatus.BLOCKED, 5)
    (to_staff,) = sent_to(STAFF_EMAIL)
    assert "COMMUNE DE PARIS" in to_staff.body
    assert claimant.user.identifiant in to_staff.body
    # Even the right code no longer works.
    page = text(client.post(activation_url(establishment), {"code": code}))
    assert "Ce code est bloqué" in page
    claimant.refresh_from_db()
    assert not claimant.is_admin
    assert AuditEntry.objects.filter(action="admin_claim.code_failed").count() == 4
    assert AuditEntry.objects.filter(action="admin_claim.blocked").count() == 1


def test_a_new_letter_invalidates_the_previous_code(
    claimant, establishment, django_capture_on_commit_callbacks
):
    staff = UserFactory(is_staff=True)
    claim = claimant.admin_claims.get()
    old_letter, old_code = claim.letter, letter_code(claim.letter)
    with django_capture_on_commit_callbacks(execute=True):
        delegation.send_new_letter(claim=claim, by=staff)
    old_letter.refresh_from_db()
    assert old_letter.status == LetterStatus.CANCELLED
    assert old_letter.pdf is None
    claim.refresh_from_db()
    assert claim.letters_sent == 2
    new_code = letter_code(claim.letter)
    assert new_code != old_code
    assert delegation.activate_admin_role(user=claimant.user, siren=establishment.siren, code=old_code).error
    assert delegation.activate_admin_role(
        user=claimant.user, siren=establishment.siren, code=new_code
    ).membership
    assert "nouveau courrier" in sent_to(claimant.email)[-1].subject


def test_another_user_cannot_reach_the_activation_page(client, claimant, establishment):
    client.force_login(UserFactory())
    assert client.get(activation_url(establishment)).status_code == 404
    other = MembershipFactory(pending_activation=True)
    client.force_login(other.user)
    assert client.get(activation_url(establishment)).status_code == 404


# Reminder and lapse ------------------------------------------------------------------------------


def test_the_applicant_is_reminded_seven_days_before_expiry_once(
    claimant, django_capture_on_commit_callbacks
):
    claim = claimant.admin_claims.get()
    with django_capture_on_commit_callbacks(execute=True):
        assert delegation.remind_admin_claims(now=claim.expires_at - datetime.timedelta(days=8)) == 0
        assert delegation.remind_admin_claims(now=claim.expires_at - datetime.timedelta(days=7)) == 1
        assert delegation.remind_admin_claims(now=claim.expires_at - datetime.timedelta(days=6)) == 0
    reminders = [m for m in sent_to(claimant.email) if m.subject.startswith("Rappel")]
    assert len(reminders) == 1
    assert claim.expires_at.strftime("%Y") in reminders[0].body
    runs = AuditEntry.objects.filter(action="job.remind_admin_claims").order_by("pk")
    assert [run.details["reminded"] for run in runs] == [0, 1, 0]


def test_at_expiry_the_claim_lapses_and_the_earliest_waiting_applicant_is_offered_the_role(
    client, claimant, establishment, django_capture_on_commit_callbacks
):
    earliest = MembershipFactory(establishment=establishment, pending_admin=True)
    later = MembershipFactory(establishment=establishment, pending_admin=True)
    claim = claimant.admin_claims.get()
    letter = claim.letter
    with django_capture_on_commit_callbacks(execute=True):
        assert delegation.expire_admin_claims(now=claim.expires_at - datetime.timedelta(seconds=1)) == 0
        assert delegation.expire_admin_claims(now=claim.expires_at) == 1
        assert delegation.expire_admin_claims(now=claim.expires_at + datetime.timedelta(days=1)) == 0
    claim.refresh_from_db()
    claimant.refresh_from_db()
    letter.refresh_from_db()
    assert claim.status == AdminClaimStatus.LAPSED
    assert claimant.status == MembershipStatus.LAPSED
    assert letter.pdf is None  # never printed: no code left lying around
    assert "a expiré" in sent_to(claimant.email)[-1].subject
    offers = [m for m in mail.outbox if "vous pouvez le devenir" in m.subject]
    assert [m.to for m in offers] == [[earliest.email]]
    assert not [m for m in sent_to(later.email) if "devenir" in m.subject]
    runs = AuditEntry.objects.filter(action="job.expire_admin_claims").order_by("pk")
    assert [run.details["lapsed"] for run in runs] == [0, 1, 0]

    # The one offered accepts the role from their space: a new claim and a new letter.
    client.force_login(earliest.user)
    assert "devenir administrateur" in text(client.get(reverse("dashboard")))
    offer_url = reverse("admin_role_offer", kwargs={"siren": establishment.siren})
    page = text(client.post(offer_url, {}))
    assert "Acceptez le rôle d'administrateur pour le demander" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(offer_url, {"accept_admin_role": "on", "accept_cgu": "on"})
    assert response.status_code == 302
    earliest.refresh_from_db()
    assert earliest.status == MembershipStatus.PENDING_ACTIVATION
    assert claim_for(establishment).membership == earliest
    assert Letter.objects.filter(status=LetterStatus.TO_PRINT).count() == 1
    # The other one is told the role is taken.
    client.force_login(later.user)
    page = text(client.post(offer_url, {"accept_admin_role": "on", "accept_cgu": "on"}))
    assert "Un autre membre de votre structure a demandé le rôle d'administrateur avant vous" in page


def test_after_a_lapse_the_applicant_may_sign_up_again(
    client, establishment, django_capture_on_commit_callbacks
):
    sign_up(client, establishment, django_capture_on_commit_callbacks)
    claim = claim_for(establishment)
    delegation.expire_admin_claims(now=claim.expires_at)
    page = text(sign_up(client, establishment, django_capture_on_commit_callbacks))
    assert "Un code d'activation a été envoyé par courrier" in page
    assert User.objects.count() == 1
    assert Membership.objects.count() == 1
    assert Membership.objects.get().status == MembershipStatus.PENDING_ACTIVATION
    assert AdminClaim.objects.filter(status=AdminClaimStatus.PENDING).count() == 1


def test_the_offer_page_is_only_for_members_of_the_organisation(client, establishment):
    url = reverse("admin_role_offer", kwargs={"siren": establishment.siren})
    assert client.get(url).status_code == 302  # to the login page
    stranger = MembershipFactory(pending_admin=True)  # waiting in another organisation
    client.force_login(stranger.user)
    assert client.get(url).status_code == 404
    assert client.post(url, {"accept_admin_role": "on", "accept_cgu": "on"}).status_code == 404
    admin = MembershipFactory(establishment=establishment, admin=True)
    client.force_login(admin.user)
    assert client.get(url).status_code == 404  # already the admin
    waiting = MembershipFactory(establishment=establishment, pending_admin=True)
    client.force_login(waiting.user)
    page = text(client.get(url))
    assert "Votre structure a déjà un administrateur" in page
    assert not AdminClaim.objects.exists()
