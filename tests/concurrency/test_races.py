"""Races on PostgreSQL with real threads: codes typed at once are each counted and never more than
allowed, a wizard confirmed twice at once registers once, and a request decided twice at once is
decided once, the other decider being told so."""

import html
import itertools
import re
import uuid

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts import access
from accounts.models import LoginCode, PendingSignup, User
from accounts.services import _code_hash, verify_signup_code
from habilitations.enums import HabilitationStatus
from habilitations.models import Habilitation, HabilitationEvent, Service
from mailings.models import Email, Letter
from organisations import delegation
from organisations.enums import AdminClaimStatus, MembershipStatus, TrustKind
from organisations.models import AdminClaim, Category, Membership, TrustedDomainEntry
from portal.audit.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.accounts.helpers import sent_to, use_preset
from tests.accounts.test_signup import confirm, walk_to_confirmation
from tests.concurrency.helpers import race
from tests.habilitations.factories import HabilitationFactory
from tests.organisations.factories import EstablishmentFactory, LegalUnitFactory, MembershipFactory
from tests.organisations.test_delegation import letter_code

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
STAFF_EMAIL = "instruction@operateur.localhost"
LOANS = "Création de demandes de prêts"
REASON = "Cette personne ne travaille pas dans notre structure."
WRONG_TRIES = 20


def audit_entries(action: str, target) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, target_id=str(target.pk)).order_by("pk"))


def templates_to(address: str) -> list[str]:
    """The e-mails written to an address, by template (the outbox rows, sent or not)."""
    return sorted(Email.objects.filter(to_email=address).values_list("template", flat=True))


def errors(results) -> list[Exception]:
    return [result for result in results if isinstance(result, Exception)]


def tab_of(browser: Client) -> Client:
    """Another tab of the same browser: a client with the same session cookie."""
    tab = Client()
    tab.cookies[django_settings.SESSION_COOKIE_NAME] = browser.cookies[
        django_settings.SESSION_COOKIE_NAME
    ].value
    return tab


def logged_in(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def page(response) -> str:
    return html.unescape(response.content.decode())


# Wrong codes typed at once -----------------------------------------------------------------------

CODE_LEFT = re.compile(r"^Code incorrect\. Il vous reste (\d+) essais?\.$")
# Twenty codes in the letter's alphabet, none of them the letter's (its code is random).
WRONG_LETTER_CODES = [
    f"{first * 5}-{second * 5}"
    for first, second in zip(delegation.CODE_ALPHABET, delegation.CODE_ALPHABET[1:], strict=False)
][:WRONG_TRIES]


@pytest.fixture
def claim(settings) -> AdminClaim:
    """An open claim of the admin role: the letter with its code is on its way."""
    settings.PORTAL_ONBOARDING_RULES = ["R1", "R3"]
    settings.PORTAL_STAFF_EMAIL = STAFF_EMAIL
    return delegation.claim_admin_role(membership=MembershipFactory(pending_admin=True))


def type_letter_codes(claim: AdminClaim, codes: list[str]) -> list[delegation.ActivationResult]:
    user, siren = claim.membership.user, claim.legal_unit_id
    return race(lambda code: delegation.activate_admin_role(user=user, siren=siren, code=code), codes)


def test_twenty_wrong_letter_codes_at_once_are_each_counted_once(settings, claim):
    settings.PORTAL_ADMIN_CLAIM = {**settings.PORTAL_ADMIN_CLAIM, "max_tries": 30}

    results = type_letter_codes(claim, WRONG_LETTER_CODES)

    assert errors(results) == []
    assert all(result.membership is None for result in results)
    left = sorted(int(CODE_LEFT.match(result.error).group(1)) for result in results)
    assert left == list(range(30 - WRONG_TRIES, 30))  # 10 to 29: every answer counted its own try
    claim.refresh_from_db()
    assert (claim.tries, claim.status) == (WRONG_TRIES, AdminClaimStatus.PENDING)
    failed = audit_entries("admin_claim.code_failed", claim)
    assert sorted(entry.details["tries"] for entry in failed) == list(range(1, WRONG_TRIES + 1))
    assert audit_entries("admin_claim.blocked", claim) == []
    assert templates_to(STAFF_EMAIL) == []

    # Ten tries left: the letter's code still makes the admin.
    result = delegation.activate_admin_role(
        user=claim.membership.user, siren=claim.legal_unit_id, code=letter_code(claim.letter)
    )
    assert result.membership.is_admin


def test_twenty_wrong_letter_codes_at_once_block_the_claim_once_after_five(settings, claim):
    max_tries = settings.PORTAL_ADMIN_CLAIM["max_tries"]
    assert max_tries == 5

    results = type_letter_codes(claim, WRONG_LETTER_CODES)

    assert errors(results) == []
    answers = [result.error for result in results]
    left = sorted(int(match.group(1)) for match in map(CODE_LEFT.match, answers) if match)
    assert left == [1, 2, 3, 4]
    blocked = [answer for answer in answers if answer.startswith("Ce code est bloqué après trop d'essais.")]
    # The fifth wrong code blocks the claim; the fifteen typed after it find it blocked.
    assert len(blocked) == WRONG_TRIES - len(left) == 16
    claim.refresh_from_db()
    assert (claim.tries, claim.status) == (max_tries, AdminClaimStatus.BLOCKED)
    assert len(audit_entries("admin_claim.code_failed", claim)) == max_tries - 1
    [entry] = audit_entries("admin_claim.blocked", claim)
    assert entry.details == {"tries": max_tries}
    assert templates_to(STAFF_EMAIL) == ["admin_claim_blocked"]
    assert len(sent_to(STAFF_EMAIL)) == 1

    # Blocked means blocked: the letter's code no longer works until staff send a new letter.
    result = delegation.activate_admin_role(
        user=claim.membership.user, siren=claim.legal_unit_id, code=letter_code(claim.letter)
    )
    assert result.membership is None
    assert result.error.startswith("Ce code est bloqué")
    assert not Membership.objects.filter(legal_unit_id=claim.legal_unit_id, is_admin=True).exists()


def answer_shape(checks: list[access.CodeCheck]) -> tuple[list[int], int]:
    """What the visitor sees: the tries left announced, and how many answers said "spent"."""
    assert all(check.user is None for check in checks)
    left = sorted(check.remaining for check in checks if not check.spent)
    return left, sum(check.spent for check in checks)


@pytest.mark.parametrize("preset", ["bdt", "default"])
def test_twenty_wrong_login_codes_at_once_never_use_more_than_max_tries(settings, preset):
    use_preset(settings, preset)
    options = settings.PORTAL_EMAIL_CODE
    max_tries = options["max_tries"]
    user = UserFactory()
    pending_id = access.send_login_code(login=user.identifiant)
    [message] = sent_to(user.email)
    code = re.search(r"^\s*(\d{4,})\s*$", message.body, re.MULTILINE).group(1)
    wrong = [
        candidate
        for candidate in (f"{number:0{options['length']}d}" for number in range(WRONG_TRIES + 1))
        if candidate != code
    ][:WRONG_TRIES]

    results = race(lambda typed: access.check_login_code(pending_id=str(pending_id), code=typed), wrong)

    assert errors(results) == []
    assert answer_shape(results) == (list(range(max_tries)), WRONG_TRIES - max_tries)
    assert LoginCode.objects.get(uuid=pending_id).tries == max_tries
    assert access.check_login_code(pending_id=str(pending_id), code=code) == access.CodeCheck(spent=True)

    # A pending id that matches no code (no such account) answers the same, tries counted alike.
    ghost_id = str(uuid.uuid4())
    ghost = race(lambda typed: access.check_login_code(pending_id=ghost_id, code=typed), wrong)
    assert errors(ghost) == []
    assert answer_shape(ghost) == answer_shape(results)


# The same wizard finished twice at once ----------------------------------------------------------


def pending_signup(establishment, *, code: str) -> PendingSignup:
    """The confirmed wizard of the organisation's first user, who accepts the admin role (R3)."""
    category = Category.objects.get(name="Porteurs de projets")
    data = {
        "category": category.pk,
        "function": category.functions.first().pk,
        "title": "Chargée de mission",
        "flags": [],
        "civilite": "mme",
        "first_name": "Camille",
        "last_name": "Martin",
        "siret": establishment.siret,
        "departement": "54",
        "address": "1 PL DE L'HOTEL DE VILLE",
        "address_complement": "",
        "postal_code": "54000",
        "city": "NANCY",
        "email": "camille.martin@mairie-exemple.fr",
        "phone_landline": "+33383000000",
        "phone_mobile": "",
        "cgu_version": "2026-01",
        "identifiant": "cmartin",
        "services": [Service.objects.get(name=LOANS).pk],
        "accepts_admin_role": True,
    }
    pending = PendingSignup(email=data["email"], data=data, code_expires_at="2999-01-01T00:00:00Z")
    pending.code_hash = _code_hash(pending.token, code)
    pending.save()
    return pending


@pytest.mark.parametrize("racers", [2, 10])
def test_the_right_signup_code_typed_at_once_registers_once(settings, racers):
    settings.PORTAL_ONBOARDING_RULES = ["R1", "R3"]
    settings.PORTAL_STAFF_EMAIL = STAFF_EMAIL
    pending = pending_signup(EstablishmentFactory(), code="123456")

    results = race(lambda pending: verify_signup_code(pending=pending, code="123456"), [pending] * racers)

    assert errors(results) == []
    assert sorted(result.created for result in results) == [False] * (racers - 1) + [True]
    membership = Membership.objects.get()
    assert {result.membership.pk for result in results} == {membership.pk}
    assert {result.notice for result in results} == {""}
    user = User.objects.get()
    assert (membership.user, membership.status) == (user, MembershipStatus.PENDING_ACTIVATION)
    assert len(audit_entries("signup.completed", membership)) == 1
    assert len(audit_entries("account.created", user)) == 1
    assert AdminClaim.objects.get().membership == membership
    assert Letter.objects.count() == 1
    assert list(Habilitation.objects.values_list("membership", "service__name", "status")) == [
        (membership.pk, LOANS, HabilitationStatus.REQUESTED)
    ]
    assert templates_to(pending.email) == ["access_link", "admin_claim_started"]
    assert templates_to(STAFF_EMAIL) == []


@pytest.mark.parametrize("tabs", [2, 10])
def test_the_code_page_posted_from_several_tabs_at_once_registers_once(settings, tabs):
    settings.CAPTCHA_TEST_MODE = True
    settings.PORTAL_ONBOARDING_RULES = ["R2", "R4"]
    TrustedDomainEntry.objects.create(kind=TrustKind.LEGAL_CATEGORY, value="7210", note="Communes")
    unit = LegalUnitFactory(siren="217500016", denomination="COMMUNE DE PARIS", legal_category="7210")
    establishment = EstablishmentFactory(
        legal_unit=unit, siret="21750001600019", postal_code="75004", city="PARIS", commune_code="75104"
    )
    browser = Client()
    walk_to_confirmation(browser, establishment)
    code_url = confirm(browser).url
    [message] = mail.outbox
    code = re.search(r"^\s+(\d{4,8})$", message.body, re.MULTILINE).group(1)

    results = race(
        lambda tab: tab.post(code_url, {"code": code}, follow=True), [tab_of(browser) for _ in range(tabs)]
    )

    assert errors(results) == []
    pending = PendingSignup.objects.get()
    result_url = reverse("signup_result", kwargs={"token": pending.token})
    for response in results:
        assert response.redirect_chain == [(result_url, 302)]
        assert response.status_code == 200
        assert "Votre inscription est validée" in page(response)
    membership = Membership.objects.select_related("user").get()
    assert User.objects.get() == membership.user
    assert membership.status == MembershipStatus.APPROVED
    assert len(audit_entries("signup.completed", membership)) == 1
    assert templates_to(pending.email) == ["access_link", "signup_code"]
    assert len(sent_to(pending.email)) == 2


# One request decided twice at once ---------------------------------------------------------------

# Who decides, the URL they post, and what they are told when theirs is the decision.
DECIDERS = {
    "tab approves": ("gestion:approve_member", "est validée ; un courriel l'en informe."),
    "tab refuses": ("gestion:refuse_member", "est refusée ; un courriel lui donne le motif."),
    "staff approves": ("admin:organisations_membership_approve", "est validée ; le demandeur est prévenu"),
    "staff refuses": ("admin:organisations_membership_refuse", "est refusée ; le demandeur est prévenu"),
}
# What the decision leaves: status, audit entry, e-mail to the member, the requested service.
OUTCOMES = {
    "tab approves": (MembershipStatus.APPROVED, "membership.approved", "member_approved", "validated"),
    "tab refuses": (MembershipStatus.REFUSED, "membership.refused", "member_refused", "refused"),
    "staff approves": (
        MembershipStatus.APPROVED,
        "membership.approved",
        "registration_approved",
        "requested",
    ),
    "staff refuses": (MembershipStatus.REFUSED, "membership.refused", "registration_refused", "refused"),
}
ALL_DECIDERS = list(DECIDERS)


@pytest.fixture
def organisation():
    """An organisation's admin, a staff agent, and a registration waiting for the admin (R1) that
    asks for one service."""
    admin = MembershipFactory(admin=True, user=UserFactory(first_name="Pierre", last_name="Durand"))
    pending = MembershipFactory(
        user=UserFactory(first_name="Valérie", last_name="Dupont"),
        establishment=admin.establishment,
        pending_admin=True,
    )
    HabilitationFactory(membership=pending, service=Service.objects.get(name=LOANS))
    staff = UserFactory(identifiant="agent", is_staff=True, is_superuser=True)
    return admin, staff, pending


@pytest.mark.parametrize(
    "deciders",
    [
        ["tab approves", "staff refuses"],
        ["staff approves", "tab refuses"],
        ["tab approves", "tab refuses"],
        list(itertools.islice(itertools.cycle(ALL_DECIDERS), 10)),
    ],
    ids=["admin-approves-staff-refuses", "staff-approves-admin-refuses", "two-tabs", "ten"],
)
def test_a_registration_decided_at_once_by_its_admin_and_staff_is_decided_once(organisation, deciders):
    admin, staff, pending = organisation
    admin_browser, staff_browser = logged_in(admin.user), logged_in(staff)
    loans = Service.objects.get(name=LOANS)

    def decide(decider):
        name, _ = DECIDERS[decider]
        if name.startswith("gestion:"):
            tab, url = (
                tab_of(admin_browser),
                reverse(name, kwargs={"siren": admin.legal_unit_id, "pk": pending.pk}),
            )
        else:
            tab, url = tab_of(staff_browser), reverse(name, args=[pending.pk])
        data = {"services": [loans.pk]} if decider == "tab approves" else {"reason": REASON}
        return tab.post(url, data, follow=True)

    results = race(decide, deciders)

    assert errors(results) == []
    assert [response.status_code for response in results] == [200] * len(deciders)
    pages = [page(response) for response in results]
    [winner] = [
        decider for decider, text in zip(deciders, pages, strict=True) if DECIDERS[decider][1] in text
    ]
    status, action, template, service_state = OUTCOMES[winner]
    pending.refresh_from_db()
    decided_by = staff if winner.startswith("staff") else admin.user
    assert (pending.status, pending.decided_by) == (status, decided_by)
    decisions = audit_entries("membership.approved", pending) + audit_entries("membership.refused", pending)
    assert [(entry.action, entry.actor) for entry in decisions] == [(action, decided_by)]
    assert templates_to(pending.email) == [template]
    assert pending.habilitations.get().status == service_state

    label = pending.get_status_display()
    for decider, text in zip(deciders, pages, strict=True):
        if decider == winner and DECIDERS[decider][1] in text:
            continue
        if decider.startswith("tab"):
            assert f"est désormais « {label} » : cette décision ne s'applique plus." in text
        else:
            assert f"a déjà été traitée ({label})." in text


@pytest.mark.parametrize("tabs", [2, 10])
def test_a_service_request_decided_at_once_in_several_tabs_is_decided_once(tabs):
    admin = MembershipFactory(admin=True, user=UserFactory(first_name="Pierre", last_name="Durand"))
    member = MembershipFactory(
        user=UserFactory(first_name="Valérie", last_name="Dupont"), establishment=admin.establishment
    )
    habilitation = HabilitationFactory(membership=member, service=Service.objects.get(name=LOANS))
    admin_browser = logged_in(admin.user)
    accepts = [index % 2 == 0 for index in range(tabs)]

    def decide(accept):
        name = "gestion:validate_request" if accept else "gestion:refuse_request"
        url = reverse(name, kwargs={"siren": admin.legal_unit_id, "pk": habilitation.pk})
        return tab_of(admin_browser).post(url, {} if accept else {"reason": REASON}, follow=True)

    results = race(decide, accepts)

    assert errors(results) == []
    assert [response.status_code for response in results] == [200] * tabs
    pages = [page(response) for response in results]
    validated = f"a désormais accès au service « {LOANS} » ; un courriel l'en informe."
    refused = (
        f"La demande du service « {LOANS} » de Valérie Dupont est refusée ; un courriel lui donne le motif."
    )
    decided = [text for text in pages if validated in text or refused in text]
    assert len(decided) == 1
    habilitation.refresh_from_db()
    expected = HabilitationStatus.VALIDATED if validated in decided[0] else HabilitationStatus.REFUSED
    assert habilitation.status == expected
    assert len(audit_entries(f"habilitation.{expected}", habilitation)) == 1
    other = (
        HabilitationStatus.REFUSED
        if expected == HabilitationStatus.VALIDATED
        else HabilitationStatus.VALIDATED
    )
    assert audit_entries(f"habilitation.{other}", habilitation) == []
    assert HabilitationEvent.objects.filter(habilitation=habilitation, to_status=expected).count() == 1
    assert templates_to(member.email) == ["member_habilitation_decided"]
    told = f"La demande du service « {LOANS} » a déjà été traitée ({habilitation.get_status_display()})."
    assert sum(told in text for text in pages) == tabs - 1
