"""The signup wizard, its e-mail code and the onboarding rules, through the pages a person sees."""

import re

import pytest
from captcha.models import CaptchaStore
from django.contrib.sessions.models import Session
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import PendingSignup, User
from mailings.models import Email
from organisations.enums import MembershipStatus, OnboardingRule, TrustKind
from organisations.models import Category, CategoryFlag, Membership, TrustedDomainEntry
from portal.audit.models import AuditEntry
from tests.organisations.factories import EstablishmentFactory, LegalUnitFactory, MembershipFactory

pytestmark = pytest.mark.django_db
PREFIX = "signup_wizard-current_step"


@pytest.fixture(autouse=True)
def _captcha_test_mode(settings):
    settings.CAPTCHA_TEST_MODE = True
    settings.PORTAL_ONBOARDING_RULES = ["R2", "R4"]


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


def step_url(step):
    return reverse("signup_step", kwargs={"step": step})


def post_step(client, step, data=None, **extra):
    payload = {PREFIX: step, **{f"{step}-{key}": value for key, value in (data or {}).items()}, **extra}
    return client.post(step_url(step), payload)


def function_data(**overrides):
    category = Category.objects.get(name="Maîtres d'ouvrages")
    data = {
        "category": category.pk,
        "function": category.functions.first().pk,
        "title": "Chargée de mission",
        "civilite": "mme",
        "first_name": "Camille",
        "last_name": "Martin",
    }
    data.update(overrides)
    return data


def contact_data(**overrides):
    data = {
        "departement": "75",
        "address": "4 PL DE L'HOTEL DE VILLE",
        "address_complement": "",
        "postal_code": "75004",
        "city": "PARIS",
        "email": "camille.martin@paris.fr",
        "phone_landline": "01 42 76 40 40",
        "phone_mobile": "",
        "identifiant": "cmartin",
    }
    data.update(overrides)
    return data


def walk_to_confirmation(client, establishment, **contact):
    client.get(reverse("signup"), follow=True)
    assert post_step(client, "fonction", function_data()).status_code == 302
    assert (
        post_step(
            client,
            "organisme",
            {"query": establishment.siret, "postal_code": "", "siret": establishment.siret},
        ).status_code
        == 302
    )
    response = post_step(client, "coordonnees", contact_data(**contact))
    assert response.status_code == 302, response.content.decode()
    return response


def confirm(client, captcha="PASSED", key="x", **extra):
    data = {"captcha_0": key, "captcha_1": captcha, "accept_cgu": "on"}
    response = post_step(client, "confirmation", data, **extra)
    if response.status_code == 302 and response.url.endswith("/termine/"):
        response = client.get(response.url)
    return response


def code_from_mail(django_capture_on_commit_callbacks, action):
    with django_capture_on_commit_callbacks(execute=True):
        response = action()
    body = mail.outbox[-1].body
    return response, re.search(r"^\s+(\d{4,8})$", body, re.MULTILINE).group(1)


def test_the_four_steps_each_have_a_url_and_a_stepper(client):
    response = client.get(reverse("signup"), follow=True)
    assert response.redirect_chain[-1][0] == step_url("fonction")
    page = response.content.decode()
    assert "Étape 1 sur 4" in page
    assert "Votre fonction et votre identité" in page
    assert "Délégations territoriales de l&#x27;ANRU" in page
    assert "Directeur adjoint DDT/DDTM" in page
    # Without JavaScript the functions are grouped under their category.
    assert '<optgroup label="Délégations territoriales de l&#x27;ANRU">' in page
    assert "Quartiers Fertiles" in page
    # Each step has its own stepper (each rendered once per process: portal_pages.rendered_once).
    assert post_step(client, "fonction", function_data()).status_code == 302
    page = client.get(step_url("organisme")).content.decode()
    assert "Étape 2 sur 4" in page
    assert "Étape 1 sur 4" not in page
    assert 'data-fr-current-step="2"' in page


def test_a_complete_signup_in_the_trusted_domain_is_approved_and_gets_the_access_email(
    client, establishment, django_capture_on_commit_callbacks
):
    TrustedDomainEntry.objects.create(kind=TrustKind.LEGAL_CATEGORY, value="7210", note="Communes")
    walk_to_confirmation(client, establishment)
    assert User.objects.count() == 0
    assert Membership.objects.count() == 0  # nothing before the final confirmation

    response, code = code_from_mail(django_capture_on_commit_callbacks, lambda: confirm(client))
    assert response.status_code == 302
    assert "/inscription/code/" in response.url
    assert User.objects.count() == 0  # nothing before the code either
    pending = PendingSignup.objects.get()
    assert code not in pending.code_hash
    assert code not in str(pending.data)
    assert mail.outbox[-1].to == ["camille.martin@paris.fr"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(response.url, {"code": code}, follow=True)
    page = response.content.decode()
    assert "Votre inscription est validée" in page
    membership = Membership.objects.get()
    assert (membership.status, membership.rule) == (
        MembershipStatus.APPROVED,
        OnboardingRule.R2_TRUSTED_DOMAIN,
    )
    assert membership.user.identifiant == "cmartin"  # chosen in the wizard
    assert membership.user.phone_landline == "+33142764040"
    assert membership.cgu_version == "2026-01"
    assert not membership.user.has_usable_password()
    access_mail = mail.outbox[-1]
    assert access_mail.subject.startswith("Création de mon accès technique")
    assert "/acces/" in access_mail.body
    assert AuditEntry.objects.filter(action="signup.completed", target_id=str(membership.pk)).exists()


def test_outside_the_trusted_domain_the_registration_waits_for_staff(
    client, establishment, django_capture_on_commit_callbacks
):
    walk_to_confirmation(client, establishment)
    response, code = code_from_mail(django_capture_on_commit_callbacks, lambda: confirm(client))
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(response.url, {"code": code}, follow=True).content.decode()
    assert "Votre inscription est en cours de validation" in page
    membership = Membership.objects.get()
    assert (membership.status, membership.rule) == (
        MembershipStatus.PENDING_STAFF,
        OnboardingRule.R4_STAFF_VALIDATION,
    )
    assert mail.outbox[-1].subject == "Votre inscription est en cours de validation"


@pytest.mark.parametrize(
    ("entry", "email", "trusted"),
    [
        ({"kind": TrustKind.SIREN, "value": "217500016"}, "camille.martin@paris.fr", True),
        ({"kind": TrustKind.LEGAL_CATEGORY, "value": "7210"}, "camille.martin@paris.fr", True),
        ({"kind": TrustKind.LEGAL_CATEGORY, "value": "7346"}, "camille.martin@paris.fr", False),
        (
            {"kind": TrustKind.EMAIL_DOMAIN, "value": "paris.fr", "siren": "217500016"},
            "camille.martin@paris.fr",
            True,
        ),
        (
            {"kind": TrustKind.EMAIL_DOMAIN, "value": "paris.fr", "siren": "200054781"},
            "camille.martin@paris.fr",
            False,
        ),
        (
            {"kind": TrustKind.EMAIL_DOMAIN, "value": "paris.fr", "siren": "217500016"},
            "camille.martin@autre.fr",
            False,
        ),
    ],
)
def test_the_trusted_domain_by_siren_legal_category_or_declared_email_domain(
    establishment, entry, email, trusted
):
    from organisations.onboarding import decide

    TrustedDomainEntry.objects.create(**entry)
    decision = decide(establishment=establishment, email=email)
    assert (decision.status == MembershipStatus.APPROVED) is trusted


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (["R2", "R4"], OnboardingRule.R2_TRUSTED_DOMAIN),
        (["R4"], OnboardingRule.R4_STAFF_VALIDATION),
        (["R1", "R3"], OnboardingRule.R3_DELEGATED_ADMIN),  # no admin yet: the first user is offered it
        (["R1", "R2", "R3", "R4"], OnboardingRule.R2_TRUSTED_DOMAIN),
    ],
)
def test_each_preset_applies_its_rules_in_order(settings, establishment, rules, expected):
    from organisations.onboarding import decide

    settings.PORTAL_ONBOARDING_RULES = rules
    TrustedDomainEntry.objects.create(kind=TrustKind.SIREN, value="217500016")
    assert decide(establishment=establishment, email="x@paris.fr", accepts_admin_role=True).rule == expected


def test_starting_afresh_forgets_the_answers(client, establishment):
    walk_to_confirmation(client, establishment)
    assert "Chargée de mission" in client.get(step_url("fonction")).content.decode()
    response = client.get(reverse("signup") + "?recommencer")
    assert response.status_code == 302
    assert "Chargée de mission" not in client.get(response.url).content.decode()


def test_a_step_shown_again_unchanged_does_not_rewrite_the_session(client, establishment):
    """Each write of the session row is a transaction and a flush: a page shown again writes none,
    a step whose answers change writes them."""
    walk_to_confirmation(client, establishment)
    with CaptureQueriesContext(connection) as queries:
        for step in ("confirmation", "confirmation", "fonction", "fonction"):
            assert client.get(step_url(step)).status_code == 200
    writes = [
        query["sql"]
        for query in queries
        if query["sql"].startswith("UPDATE") and "django_session" in query["sql"]
    ]
    assert len(writes) == 1  # the move back to step 1 only

    post_step(client, "fonction", function_data(title="Directrice de projet"))
    assert "Directrice de projet" in client.get(step_url("confirmation")).content.decode()


def test_a_first_look_at_the_wizard_creates_no_session_the_first_answer_does(client, settings):
    """A visitor (or a robot) who only looks at step 1 costs no session row and gets no session
    cookie; the first answer creates the session that carries the wizard."""
    for _ in range(3):
        response = client.get(reverse("signup"), follow=True)
        assert response.status_code == 200
        assert 'name="fonction-title"' in response.content.decode()
    assert Session.objects.count() == 0
    assert settings.SESSION_COOKIE_NAME not in response.cookies

    response = post_step(client, "fonction", function_data())

    assert response.status_code == 302
    assert response.url == step_url("organisme")
    assert Session.objects.count() == 1
    assert 'value="Chargée de mission"' in client.get(step_url("fonction")).content.decode()


def test_going_back_and_forth_keeps_every_answer(client, establishment):
    walk_to_confirmation(client, establishment, phone_mobile="06 12 34 56 78")
    page = client.post(
        step_url("confirmation"), {PREFIX: "confirmation", "wizard_goto_step": "fonction"}, follow=True
    ).content.decode()
    assert 'value="Chargée de mission"' in page
    assert 'value="Camille"' in page
    page = client.get(step_url("coordonnees")).content.decode()
    assert 'value="06 12 34 56 78"' in page
    assert 'value="camille.martin@paris.fr"' in page


def test_the_summary_shows_every_answer_with_modify_links(client, establishment):
    walk_to_confirmation(client, establishment)
    page = client.get(step_url("confirmation")).content.decode()
    for expected in (
        "Chargée de mission",
        "Camille",
        "Martin",
        "COMMUNE DE PARIS",
        "21750001600019",
        "camille.martin@paris.fr",
        "01 42 76 40 40",
        "Paris",
    ):
        assert expected in page
    assert page.count('name="wizard_goto_step"') >= 4  # three "Modifier" and the previous step


def test_the_organisation_step_says_when_more_match_than_are_counted(client, monkeypatch):
    from organisations import search

    monkeypatch.setattr(search, "COUNT_LIMIT", 1000)
    monkeypatch.setattr(search, "PER_PAGE", 1)
    monkeypatch.setattr(search, "MAX_PAGES", 1000)
    EstablishmentFactory.create_batch(3, legal_unit__denomination="SYNDICAT DES EAUX")
    client.get(reverse("signup"), follow=True)
    post_step(client, "fonction", function_data())
    page = post_step(client, "organisme", {"query": "syndicat", "postal_code": ""}, action="search")
    assert "3 organismes trouvés" in page.content.decode()

    monkeypatch.setattr(search, "COUNT_LIMIT", 2)
    page = post_step(client, "organisme", {"query": "syndicat", "postal_code": ""}, action="search")
    text = page.content.decode()
    assert "Plus de 2 organismes trouvés — précisez votre recherche" in text
    assert text.count('name="organisme-siret"') == 1
    assert 'name="page" value="2"' in text


def test_the_organisation_step_searches_paginates_and_prefills_the_contact_step(client, establishment):
    for number in range(12):
        EstablishmentFactory(
            legal_unit=LegalUnitFactory(denomination=f"SYNDICAT DES EAUX {number}"),
            postal_code="75012",
            city="PARIS",
        )
    client.get(reverse("signup"), follow=True)
    post_step(client, "fonction", function_data())
    page = post_step(
        client, "organisme", {"query": "syndicat eaux", "postal_code": ""}, action="search"
    ).content.decode()
    for column in (
        "Siret",
        "Nom",
        "Sigle",
        "Département",
        "Etab. siège",
        "Adresse",
        "Code postal",
        "Ville",
        "Activité principale",
    ):
        assert f">{column}<" in page
    assert page.count('name="organisme-siret"') == 10
    assert "12 organismes trouvés" in page
    assert 'name="page" value="2"' in page
    page2 = post_step(
        client, "organisme", {"query": "syndicat eaux", "postal_code": ""}, page="2"
    ).content.decode()
    assert page2.count('name="organisme-siret"') == 2
    assert 'aria-current="page">2<' in page2

    page = post_step(
        client, "organisme", {"query": "commune paris", "postal_code": "75004"}, action="search"
    ).content.decode()
    assert "COMMUNE DE PARIS" in page
    response = post_step(
        client, "organisme", {"query": "commune paris", "postal_code": "75004", "siret": establishment.siret}
    )
    assert response.url == step_url("coordonnees")
    page = client.get(step_url("coordonnees")).content.decode()
    assert 'value="4 PL DE L&#x27;HOTEL DE VILLE"' in page
    assert 'value="75004"' in page
    assert '<option value="75" selected>' in page


@pytest.mark.parametrize(
    ("siret", "message"),
    [
        ("", "Recherchez votre organisme puis choisissez son établissement dans la liste."),
        ("12345678901234", "Cet établissement ne fait pas partie des résultats"),
        ("hidden", "Cet établissement ne fait pas partie des résultats"),
        ("closed", "Cet établissement est fermé"),
    ],
)
def test_a_forged_or_unusable_siret_is_refused(client, siret, message):
    if siret == "hidden":
        siret = EstablishmentFactory(non_diffusible=True).siret
    elif siret == "closed":
        siret = EstablishmentFactory(closed=True).siret
    client.get(reverse("signup"), follow=True)
    post_step(client, "fonction", function_data())
    response = post_step(client, "organisme", {"query": "commune", "postal_code": "", "siret": siret})
    assert response.status_code == 200
    assert message in response.content.decode()


def test_the_category_box_is_offered_with_its_hint_and_kept(
    client, establishment, django_capture_on_commit_callbacks
):
    flag = CategoryFlag.objects.get(label="Quartiers Fertiles")
    client.get(reverse("signup"), follow=True)
    page = client.get(step_url("fonction")).content.decode()
    box = re.search(r'<input type="checkbox" name="fonction-flags" value="(\d+)"[^>]*id="([^"]+)"', page)
    assert box.group(1) == str(flag.pk)
    assert f'<label class="fr-label"\n           for="{box.group(2)}">' in page
    assert flag.help_text.replace("'", "&#x27;") in page
    assert post_step(client, "fonction", function_data(flags=[flag.pk])).status_code == 302
    post_step(
        client, "organisme", {"query": establishment.siret, "postal_code": "", "siret": establishment.siret}
    )
    post_step(client, "coordonnees", contact_data())
    response, code = code_from_mail(django_capture_on_commit_callbacks, lambda: confirm(client))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response.url, {"code": code})
    assert list(Membership.objects.get().flags.all()) == [flag]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("category", "", "Ce champ est obligatoire."),
        ("title", "", "Ce champ est obligatoire."),
        ("first_name", "", "Ce champ est obligatoire."),
        ("civilite", "docteur", "Sélectionnez un choix valide."),
        ("function", "other-category", "Cette fonction n&#x27;appartient pas à la catégorie choisie"),
        ("flags", "other-category", "Cette case ne concerne pas la catégorie choisie."),
        ("title", "Chargé\x00 de mission", "Le caractère nul n’est pas autorisé."),
        ("last_name", "Martin\x07", "caractères non autorisés"),
    ],
)
def test_function_step_messages(client, field, value, message):
    data = function_data()
    if value == "other-category":
        other = Category.objects.get(name="Délégations territoriales de l'ANRU")
        if field == "function":
            value = other.functions.first().pk
        else:
            data["category"] = other.pk
            data["function"] = other.functions.first().pk
            value = CategoryFlag.objects.get(label="Quartiers Fertiles").pk
    data[field] = value
    client.get(reverse("signup"), follow=True)
    response = post_step(client, "fonction", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "Le formulaire contient des erreurs" in response.content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "email",
            "camille@gmail.com",
            "Les adresses de messageries personnelles (gmail.com) ne sont pas acceptées",
        ),
        ("email", "pas-une-adresse", "Saisissez une adresse de courriel valide."),
        ("phone_landline", "12345", "Saisissez un numéro de téléphone français"),
        ("phone_landline", "", "Ce champ est obligatoire."),
        ("phone_mobile", "+44 20 7946 0958", "Saisissez un numéro de téléphone français"),
        ("postal_code", "7500", "Un code postal compte 5 chiffres."),
        ("departement", "99", "Sélectionnez un choix valide."),
    ],
)
def test_contact_step_messages(client, establishment, field, value, message):
    client.get(reverse("signup"), follow=True)
    post_step(client, "fonction", function_data())
    post_step(
        client, "organisme", {"query": establishment.siret, "postal_code": "", "siret": establishment.siret}
    )
    response = post_step(client, "coordonnees", contact_data(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()


def test_free_mail_is_accepted_when_the_operator_allows_it(client, establishment, settings):
    settings.PORTAL_REFUSE_FREE_MAIL = False
    walk_to_confirmation(client, establishment, email="camille@gmail.com")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("01 42 76 40 40", "+33142764040"),
        ("+33 1 42 76 40 40", "+33142764040"),
        ("0033142764040", "+33142764040"),
        ("06.12.34.56.78", "+33612345678"),
        ("0590 12 34 56", "+590590123456"),
        ("0690 12 34 56", "+590690123456"),
        ("0262 12 34 56", "+262262123456"),
        ("0594 12 34 56", "+594594123456"),
        ("+596 596 12 34 56", "+596596123456"),
        ("+687 12 34 56", "+687123456"),
    ],
)
def test_french_phone_numbers_mainland_and_overseas_are_stored_normalised(typed, stored):
    from accounts.validators import normalize_phone

    assert normalize_phone(typed) == stored


def test_normalised_numbers_are_shown_in_the_national_format():
    from accounts.validators import display_phone

    assert display_phone("+33142764040") == "01 42 76 40 40"
    assert display_phone("+590590123456") == "05 90 12 34 56"
    assert display_phone("+687123456") == "+687123456"


def test_confirmation_requires_the_cgu_and_the_image(client, establishment):
    walk_to_confirmation(client, establishment)
    response = post_step(client, "confirmation", {"captcha_0": "x", "captcha_1": "", "accept_cgu": ""})
    page = response.content.decode()
    assert "Vous devez accepter les conditions générales d&#x27;utilisation" in page
    assert "Recopiez les caractères de l&#x27;image." in page
    assert PendingSignup.objects.count() == 0


def test_the_image_is_case_sensitive_and_cannot_be_replayed(
    client, establishment, settings, django_capture_on_commit_callbacks
):
    settings.CAPTCHA_TEST_MODE = False
    walk_to_confirmation(client, establishment)
    store = CaptchaStore.objects.create(challenge="AbDe7q", response="AbDe7q")
    wrong_case = confirm(client, captcha="abde7q", key=store.hashkey)
    assert "ne correspondent pas à l&#x27;image" in wrong_case.content.decode()
    assert PendingSignup.objects.count() == 0

    store = CaptchaStore.objects.create(challenge="AbDe7q", response="AbDe7q")
    with django_capture_on_commit_callbacks(execute=True):
        response = confirm(client, captcha="AbDe7q", key=store.hashkey)
    assert response.status_code == 302
    assert PendingSignup.objects.count() == 1

    # The same POST again (a replay): the image is spent, nothing more is created.
    replay = confirm(client, captcha="AbDe7q", key=store.hashkey)
    assert PendingSignup.objects.count() == 1
    assert replay.status_code in (200, 302)


def test_a_new_image_without_javascript_keeps_the_answers(client, establishment, settings):
    settings.CAPTCHA_TEST_MODE = False
    walk_to_confirmation(client, establishment)
    first = client.get(step_url("confirmation")).content.decode()
    key = re.search(r'name="confirmation-captcha_0" value="([0-9a-f]+)"', first).group(1)
    response = post_step(
        client, "confirmation", {"captcha_0": key, "captcha_1": "", "accept_cgu": "on"}, new_captcha="1"
    )
    page = response.content.decode()
    assert response.status_code == 200
    new_key = re.search(r'name="confirmation-captcha_0" value="([0-9a-f]+)"', page).group(1)
    assert new_key != key
    assert "checked" in re.search(r'<input[^>]*name="confirmation-accept_cgu"[^>]*>', page).group(0)
    assert "camille.martin@paris.fr" in page


def test_posting_a_later_step_directly_creates_nothing(client, establishment):
    client.get(reverse("signup"), follow=True)
    response = confirm(client)
    assert PendingSignup.objects.count() == 0
    assert response.status_code in (200, 302)
    response = client.get(reverse("signup_step", kwargs={"step": "termine"}))
    assert response.status_code == 302
    assert PendingSignup.objects.count() == 0


def test_altered_hidden_fields_create_nothing(client, establishment):
    walk_to_confirmation(client, establishment)
    response = client.post(
        step_url("confirmation"), {PREFIX: "nimporte-quoi", "confirmation-accept_cgu": "on"}
    )
    assert response.status_code in (200, 302, 400)
    assert PendingSignup.objects.count() == 0


def test_the_session_never_holds_a_password_or_the_code(
    client, establishment, django_capture_on_commit_callbacks
):
    walk_to_confirmation(client, establishment)
    _response, code = code_from_mail(django_capture_on_commit_callbacks, lambda: confirm(client))
    from django.contrib.sessions.models import Session

    for session in Session.objects.all():
        decoded = str(session.get_decoded())
        assert code not in decoded
        assert "password" not in decoded.lower()


@pytest.mark.parametrize(("preset", "length", "tries"), [("bdt", 4, 3), ("default", 6, 5)])
def test_the_email_code_follows_the_preset(
    client, establishment, django_capture_on_commit_callbacks, settings, preset, length, tries
):
    from tests.accounts.helpers import use_preset

    use_preset(settings, preset)
    walk_to_confirmation(client, establishment)
    response, code = code_from_mail(django_capture_on_commit_callbacks, lambda: confirm(client))
    assert len(code) == length
    url = response.url
    assert f"Saisissez les {length} chiffres du code reçu par courriel" in client.get(url).content.decode()
    wrong = "0" * length if code != "0" * length else "1" * length
    for _ in range(tries):
        page = client.post(url, {"code": wrong}).content.decode()
    assert "Ce code n&#x27;est plus utilisable" in page
    assert "Trop d&#x27;essais" in client.post(url, {"code": code}).content.decode()
    # Five codes an hour to one address: the first, then four new ones, then no more.
    for _ in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(url, {"resend": "1"})
    page = client.post(url, {"resend": "1"}, follow=True).content.decode()
    assert "Trop de codes ont été envoyés à cette adresse" in page
    assert len([m for m in mail.outbox if "camille.martin@paris.fr" in m.to]) == 5
    new_code = re.search(rf"^\s+(\d{{{length}}})$", mail.outbox[-1].body, re.MULTILINE).group(1)
    assert client.post(url, {"code": new_code}).status_code == 302


def test_wrong_codes_are_counted_then_the_code_dies(
    client, establishment, django_capture_on_commit_callbacks, settings
):
    walk_to_confirmation(client, establishment)
    response, code = code_from_mail(django_capture_on_commit_callbacks, lambda: confirm(client))
    url = response.url
    wrong = "000000" if code != "000000" else "111111"
    page = client.post(url, {"code": wrong}).content.decode()
    assert "Code incorrect. Il vous reste 4 essai(s)." in page
    for _ in range(4):
        page = client.post(url, {"code": wrong}).content.decode()
    assert "Ce code n&#x27;est plus utilisable" in page
    page = client.post(url, {"code": code}).content.decode()
    assert "Trop d&#x27;essais pour ce code : demandez-en un nouveau." in page
    assert User.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"resend": "1"})
    new_code = re.search(r"^\s+(\d{6})$", mail.outbox[-1].body, re.MULTILINE).group(1)
    response = client.post(url, {"code": new_code})
    assert response.status_code == 302
    assert User.objects.count() == 1


def test_an_empty_code_is_asked_for_next_to_the_field(
    client, establishment, django_capture_on_commit_callbacks
):
    walk_to_confirmation(client, establishment)
    response, _code = code_from_mail(django_capture_on_commit_callbacks, lambda: confirm(client))
    page = client.post(response.url, {}).content.decode()
    assert "Ce champ est obligatoire." in page
    assert 'id="id_code_error"' in page


def test_an_expired_code_is_refused(client, establishment, django_capture_on_commit_callbacks):
    from django.utils import timezone

    walk_to_confirmation(client, establishment)
    response, code = code_from_mail(django_capture_on_commit_callbacks, lambda: confirm(client))
    PendingSignup.objects.update(code_expires_at=timezone.now() - timezone.timedelta(seconds=1))
    page = client.post(response.url, {"code": code}).content.decode()
    assert "Ce code a expiré : demandez-en un nouveau." in page
    assert User.objects.count() == 0


def test_code_sends_are_limited_per_address(
    client, establishment, django_capture_on_commit_callbacks, settings
):
    settings.PORTAL_EMAIL_CODE = {**settings.PORTAL_EMAIL_CODE, "max_sends_per_hour": 2}
    walk_to_confirmation(client, establishment)
    response, _code = code_from_mail(django_capture_on_commit_callbacks, lambda: confirm(client))
    client.post(response.url, {"resend": "1"})
    page = client.post(response.url, {"resend": "1"}, follow=True).content.decode()
    assert "Trop de codes ont été envoyés à cette adresse" in page


def test_the_code_page_belongs_to_the_browser_that_confirmed(
    client, establishment, django_capture_on_commit_callbacks
):
    from django.test import Client

    walk_to_confirmation(client, establishment)
    response, code = code_from_mail(django_capture_on_commit_callbacks, lambda: confirm(client))
    assert Client().post(response.url, {"code": code}).status_code == 404
    assert User.objects.count() == 0


def test_a_second_registration_of_the_same_person_in_the_same_organisation_is_not_a_new_account(
    client, establishment, django_capture_on_commit_callbacks
):
    for _ in range(2):
        client.cookies.clear()
        walk_to_confirmation(client, establishment)
        response, code = code_from_mail(django_capture_on_commit_callbacks, lambda: confirm(client))
        with django_capture_on_commit_callbacks(execute=True):
            page = client.post(response.url, {"code": code}, follow=True).content.decode()
    assert "Vous êtes déjà inscrit pour cet organisme" in page
    assert User.objects.count() == 1
    assert Membership.objects.count() == 1


def test_the_signup_answers_the_same_whether_or_not_the_address_has_an_account(
    client, establishment, django_capture_on_commit_callbacks
):
    from tests.accounts.factories import UserFactory

    UserFactory(email="deja@paris.fr")
    pages = []
    for email in ("deja@paris.fr", "nouveau@paris.fr"):
        client.cookies.clear()
        walk_to_confirmation(client, establishment, email=email)
        with django_capture_on_commit_callbacks(execute=True):
            response = confirm(client)
        assert response.status_code == 302
        pages.append(client.get(response.url).content.decode().replace(email, "EMAIL"))
    strip = lambda page: re.sub(r'value="[^"]*"|/inscription/code/[^/]+/', "", page)  # noqa: E731
    assert strip(pages[0]) == strip(pages[1])
    assert Email.objects.filter(template="signup_code").count() == 2


def test_the_last_steps_show_the_answers_kept_without_reading_or_checking_them_again(
    client, establishment, settings
):
    """The contact step shows the organisation chosen, and the confirmation the answers given, as
    kept when their step was validated: no query on the organisation, the lists or the accounts at
    each visit. The confirmation's post still checks every step (tests above). (An organisation
    with an admin: for a first user, the admin-role offer reads it, to decide as the post will.)"""
    settings.PORTAL_ONBOARDING_RULES = ["R1", "R2", "R3", "R4"]
    MembershipFactory(admin=True, establishment=establishment)
    read_again = re.compile(
        r'"(organisations_establishment|organisations_legalunit|organisations_category|organisations_function|accounts_user)"'
    )

    def shown(step):
        with CaptureQueriesContext(connection) as queries:
            page = client.get(step_url(step)).content.decode()
        assert [query["sql"] for query in queries if read_again.search(query["sql"])] == [], step
        return page

    client.get(reverse("signup"), follow=True)
    assert post_step(client, "fonction", function_data()).status_code == 302
    organisation = {"query": establishment.siret, "postal_code": "", "siret": establishment.siret}
    assert post_step(client, "organisme", organisation).status_code == 302
    contact = shown("coordonnees")
    assert 'value="4 PL DE L&#x27;HOTEL DE VILLE"' in contact
    assert post_step(client, "coordonnees", contact_data(services=[])).status_code == 302
    page = shown("confirmation")
    assert "COMMUNE DE PARIS — SIRET 21750001600019" in page
    assert "Maîtres d&#x27;ouvrages" in page
    assert "Camille Martin" in page
