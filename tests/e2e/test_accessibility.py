"""Accessibility in Chromium (DESIGN.md: RGAA / WCAG 2.1 AA). axe-core runs on every page of every
flow, forms with their errors shown included, and finds no serious or critical violation; the
signup wizard is walked with the keyboard alone, its focus always visible and its errors first."""

import datetime
import re
from importlib import import_module

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.test import Client
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import access
from accounts.models import PendingSignup
from habilitations.enums import HabilitationStatus
from habilitations.models import Service, ServiceConditions
from organisations import delegation, profile
from organisations.enums import MembershipStatus, OnboardingRule
from organisations.models import Category
from tests.accounts.factories import UserFactory
from tests.e2e.conftest import axe_check, screenshot
from tests.habilitations.factories import HabilitationFactory
from tests.organisations.factories import EstablishmentFactory, LegalUnitFactory, MembershipFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
PASSWORD = "Mot-de-passe-solide-2026"  # the factories' password
NEW_PASSWORD = "Une phrase de passe solide 2026"
LOANS_URL = "https://prets.operateur.example/"


# Every error in a summary is a link to an element of the page (DESIGN: "errors announced and linked").
BROKEN_ERROR_LINKS = """() => [...document.querySelectorAll("#form-errors a")]
    .filter(link => !link.hash || !document.getElementById(decodeURIComponent(link.hash.slice(1))))
    .map(link => `${link.getAttribute("href")} «${link.textContent.trim()}»`)"""


class Walk:
    """Visits pages in one browser tab; keeps what axe finds on each, and error links to nowhere."""

    def __init__(self, page, live_server):
        self.page = page
        self.base = live_server.url
        self.violations: list[str] = []
        self.checked = 0

    def check(self, name: str, shot: str = "") -> None:
        self.page.wait_for_load_state()
        self.checked += 1
        self.violations += axe_check(self.page, name)
        for link in self.page.evaluate(BROKEN_ERROR_LINKS):
            self.violations.append(f"{name} ({self.page.url}): error summary link to nowhere: {link}")
        if shot:
            screenshot(self.page, f"a11y-{shot}")

    def visit(self, name: str, path: str, *, shot: str = "", status: int = 200) -> None:
        response = self.page.goto(self.base + path)
        assert response.status == status, f"{name}: {path} answered {response.status}"
        self.check(name, shot)

    def submit(self, name: str, button, *, shot: str = "", errors: bool = False, check: bool = True) -> None:
        """Press a submit button and check the page it leads to; with ``errors``, one that shows
        the form's errors."""
        with self.page.expect_navigation():
            button.click()
        if errors:
            assert self.page.locator("#form-errors").count() == 1, f"{name}: no error summary"
        if check:
            self.check(name, shot)

    def button(self, name, **kwargs):
        return self.page.get_by_role("button", name=name, **kwargs)

    def report(self) -> str:
        found = "\n".join(self.violations)
        return (
            f"{len(self.violations)} problem(s) on {self.checked} pages (axe-core's serious or critical "
            f"violations, error summary links to nowhere):\n{found}"
        )


def use_session(page, live_server, *, user=None, **values) -> None:
    """Start a fresh browser session: logged in as ``user`` (if any), holding ``values``."""
    engine = import_module(django_settings.SESSION_ENGINE)
    if user is not None:
        client = Client()
        client.force_login(user)
        session = engine.SessionStore(client.cookies[django_settings.SESSION_COOKIE_NAME].value)
    else:
        session = engine.SessionStore()
    session.update(values)
    session.save()
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": django_settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": live_server.url}]
    )


def completed_signup(membership) -> PendingSignup:
    """The confirmed wizard and typed code that led to ``membership`` (for its result page)."""
    return PendingSignup.objects.create(
        email=membership.email,
        data={"membership_id": membership.pk, "created": True},
        code_hash="-",
        code_expires_at=timezone.now() + datetime.timedelta(minutes=10),
        completed_at=timezone.now(),
    )


def last_code(to: str) -> str:
    for message in reversed(mail.outbox):
        if to in message.to and (match := re.search(r"^\s+(\d{4,6})$", message.body, re.MULTILINE)):
            return match.group(1)
    raise AssertionError(f"no code e-mailed to {to}: {[m.subject for m in mail.outbox]}")


def make_organisations():
    """COMMUNE D EUS, found by "commune eus"; a dozen SYNDICAT MIXTE NUMERO…, two pages of results."""
    eus = EstablishmentFactory(
        legal_unit=LegalUnitFactory(siren="200046977", denomination="COMMUNE D EUS", legal_category="7210"),
        siret="20004697700019",
        postal_code="66500",
        city="EUS",
        commune_code="66073",
    )
    syndicats = [EstablishmentFactory() for _ in range(12)]
    return eus, syndicats


def test_every_page_of_every_flow_passes_axe(live_server, browser_page, settings):
    settings.CAPTCHA_TEST_MODE = True
    settings.PORTAL_ONBOARDING_RULES = ["R1", "R2", "R3", "R4"]
    settings.PORTAL_CLIENT_NUMBERS = True
    settings.PORTAL_CHOOSE_IDENTIFIANT = True
    eus, syndicats = make_organisations()
    admin = MembershipFactory(establishment=eus, admin=True, user__first_name="Jean", user__last_name="Admin")
    loans = Service.objects.get(name="Création de demandes de prêts")
    loans.url = LOANS_URL
    loans.save()
    ServiceConditions.objects.create(
        service=loans, version="2026-01", text="Les demandes de prêts engagent votre structure."
    )
    files = Service.objects.get(name="Consultation des dossiers")
    outstanding = Service.objects.get(name="Consultation des encours")

    # The member: approved in EUS (one service granted, one asked for, an address change waiting),
    # waiting for a letter's code in one syndicat, first to come in another that has no admin.
    member = UserFactory(identifiant="cmartin", first_name="Cendrine", last_name="Martin")
    in_eus = MembershipFactory(user=member, establishment=eus, rule=OnboardingRule.R1_ORGANISATION_ADMIN)
    HabilitationFactory(membership=in_eus, service=loans, status=HabilitationStatus.VALIDATED)
    requested = HabilitationFactory(membership=in_eus, service=files, status=HabilitationStatus.REQUESTED)
    profile.request_email_change(membership=in_eus, by=member, email="cendrine.martin@eus.fr")
    awaiting_letter = MembershipFactory(user=member, establishment=syndicats[0], pending_activation=True)
    delegation.start_claim(membership=awaiting_letter)
    first_comer = MembershipFactory(user=member, establishment=syndicats[1], pending_admin=True)
    # Someone waiting for the EUS admin's decision, and someone waiting for staff.
    applicant = MembershipFactory(
        establishment=eus, pending_admin=True, user__first_name="Paul", user__last_name="Durand"
    )
    HabilitationFactory(membership=applicant, service=outstanding, status=HabilitationStatus.REQUESTED)
    for_staff = MembershipFactory(
        establishment=syndicats[2],
        status=MembershipStatus.PENDING_STAFF,
        rule=OnboardingRule.R4_STAFF_VALIDATION,
    )
    forgetful = UserFactory(identifiant="oublieux")
    newcomer = UserFactory(identifiant="nouveau")
    newcomer.set_unusable_password()
    newcomer.save()

    page = browser_page
    walk = Walk(page, live_server)

    # Public pages, and the login, code and forgotten password or identifiant ones.
    walk.visit("accueil", "/", shot="accueil")
    walk.visit("conditions générales", "/conditions-generales/")
    walk.visit("page introuvable (404)", "/cette-page-n-existe-pas/", status=404)
    walk.visit("connexion", "/connexion/")
    walk.submit(
        "connexion, erreurs",
        walk.button("Se connecter", exact=True).last,
        shot="connexion-erreurs",
        errors=True,
    )
    walk.visit("code de connexion", "/connexion/code/")
    page.get_by_label("Identifiant ou adresse électronique").fill(forgetful.identifiant)
    walk.submit("saisie du code de connexion", walk.button("M'envoyer un code"))
    page.get_by_label(re.compile("Code")).fill("000000")
    walk.submit(
        "saisie du code de connexion, erreurs", walk.button("Se connecter", exact=True).last, errors=True
    )
    use_session(page, live_server)
    walk.visit("mot de passe oublié", "/mot-de-passe-oublie/")
    page.get_by_label(re.compile("Adresse électronique")).fill(forgetful.email)
    walk.submit("mot de passe oublié, envoyé", walk.button("Recevoir un lien"))
    uid = urlsafe_base64_encode(force_bytes(forgetful.pk))
    token = access.reset_token_generator.make_token(forgetful)
    walk.visit("nouveau mot de passe", f"/mot-de-passe-oublie/{uid}/{token}/")
    page.locator("#id_new_password1").fill("court")
    page.locator("#id_new_password2").fill("Une autre phrase 2026")
    walk.submit("nouveau mot de passe, erreurs", walk.button("Enregistrer mon mot de passe"), errors=True)
    page.locator("#id_new_password1").fill(NEW_PASSWORD)
    page.locator("#id_new_password2").fill(NEW_PASSWORD)
    walk.submit("mot de passe enregistré", walk.button("Enregistrer mon mot de passe"))
    walk.visit("identifiant oublié", "/identifiant-oublie/")
    page.get_by_label(re.compile("Adresse électronique")).fill(forgetful.email)
    walk.submit("identifiant oublié, envoyé", walk.button("Recevoir mon identifiant"))
    walk.visit("accès technique", f"/acces/{access.make_access_token(newcomer)}/", shot="acces-technique")
    walk.visit("accès technique, lien périmé", "/acces/lien-invalide/")

    # The signup wizard, each step with its errors, then the code and the result.
    walk.visit("inscription étape 1", "/inscription/?recommencer")
    walk.submit(
        "inscription étape 1, erreurs", walk.button("Étape suivante"), shot="etape-1-erreurs", errors=True
    )
    page.locator("#id_fonction-category").select_option(label="Porteurs de projets")
    function = Category.objects.get(name="Porteurs de projets").functions.first()
    page.locator("#id_fonction-function").select_option(label=function.name)
    page.get_by_label("Titre").fill("Chargée de mission")
    page.locator("label[for=id_fonction-civilite_1]").click()
    page.get_by_label("Prénom").fill("Claire")
    page.get_by_label("Nom", exact=True).fill("Dupont")
    walk.submit("inscription étape 2", walk.button("Étape suivante"))
    page.locator("#id_organisme-query").fill("syndicat mixte")
    walk.submit("inscription étape 2, résultats", walk.button("Rechercher"), shot="etape-2-resultats")
    walk.submit("inscription étape 2, erreurs", walk.button("Étape suivante"), errors=True)
    page.locator("#id_organisme-query").fill("commune eus")
    walk.submit("inscription étape 2, un résultat", walk.button("Rechercher"), check=False)
    walk.submit("inscription étape 3", walk.button(re.compile("Choisir COMMUNE D EUS")))
    page.get_by_label("Code postal").fill("665")
    walk.submit("inscription étape 3, erreurs", walk.button("Étape suivante"), errors=True)
    page.get_by_label("Code postal").fill("66500")
    page.get_by_label("Adresse électronique professionnelle").fill("claire.dupont@mairie-eus.fr")
    page.get_by_label("Téléphone fixe").fill("04 68 96 00 00")
    page.get_by_label("Choisissez votre identifiant").fill("cdupont.eus")
    page.get_by_text(outstanding.name, exact=True).click()
    walk.submit("inscription étape 4", walk.button("Étape suivante"))
    walk.submit("inscription étape 4, erreurs", walk.button("Confirmer"), shot="etape-4-erreurs", errors=True)
    page.get_by_label(re.compile("recopiez les caractères")).fill("PASSED")
    page.locator("label[for=id_confirmation-accept_cgu]").click()
    walk.submit("code d'inscription", walk.button("Confirmer"))
    page.get_by_label("Code reçu par e-mail").fill("000000")
    walk.submit("code d'inscription, erreurs", walk.button("Valider"), errors=True)
    page.get_by_label("Code reçu par e-mail").fill(last_code("claire.dupont@mairie-eus.fr"))
    walk.submit("résultat : en attente de l'administrateur", walk.button("Valider"))
    for name, membership in [
        ("résultat : en attente de l'opérateur", for_staff),
        ("résultat : en attente du code d'activation", awaiting_letter),
    ]:
        pending = completed_signup(membership)
        use_session(page, live_server, signup_token=str(pending.token))
        walk.visit(name, f"/inscription/resultat/{pending.token}/")

    # The member's space.
    use_session(page, live_server, user=member)
    walk.visit("tableau de bord", "/espace/", shot="tableau-de-bord")
    assert page.locator(f"#activation-{awaiting_letter.legal_unit_id} form").count() == 1
    walk.visit("identité et sécurité", "/espace/identite/")
    walk.visit("changer mon mot de passe", "/mot-de-passe/")
    structure = f"/espace/structures/{in_eus.pk}"
    walk.visit("ma structure", f"{structure}/")
    walk.visit("téléphone", f"{structure}/telephone/")
    walk.visit("adresse électronique", f"{structure}/adresse-electronique/")
    walk.visit("confirmer l'adresse électronique", f"{structure}/adresse-electronique/confirmer/")
    walk.visit("fonction", f"{structure}/fonction/")
    walk.visit("supprimer la structure", f"{structure}/supprimer/")
    walk.visit("ajouter une structure", "/espace/structures/ajouter/")
    page.locator("#id_organisme-query").fill("syndicat mixte")
    walk.submit("ajouter une structure, résultats", walk.button("Rechercher"))
    walk.visit("tous les services", "/espace/services/")
    walk.visit("demande d'habilitation", f"/espace/services/{outstanding.pk}/demander/?structure={in_eus.pk}")
    walk.visit("conditions particulières", f"/espace/services/{loans.pk}/acces/")
    walk.submit("conditions particulières, erreurs", walk.button("Valider"), errors=True)
    walk.visit("devenir administrateur", f"/structures/{first_comer.legal_unit_id}/devenir-administrateur/")
    walk.visit("activer mon rôle", f"/structures/{awaiting_letter.legal_unit_id}/activation/")

    # The organisation admin's pages, after logging in through the login page.
    use_session(page, live_server)
    page.goto(live_server.url + "/connexion/")
    page.get_by_label("Identifiant ou adresse électronique").fill(admin.user.identifiant)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    walk.submit(
        "tableau de bord de l'administrateur", walk.button("Se connecter", exact=True).last, check=False
    )
    gestion = f"/structures/{eus.legal_unit_id}/gestion"
    walk.visit("gestion de la structure", f"{gestion}/", shot="gestion")
    walk.visit("inscription à décider", f"{gestion}/membres/{applicant.pk}/", shot="membre-en-attente")
    walk.visit("membre validé", f"{gestion}/membres/{in_eus.pk}/")
    walk.visit("refuser l'inscription", f"{gestion}/membres/{applicant.pk}/refuser/")
    walk.submit("refuser l'inscription, erreurs", walk.button("Refuser l'inscription"), errors=True)
    walk.visit("refuser la demande", f"{gestion}/demandes/{requested.pk}/refuser/")
    walk.visit("transmettre le rôle", f"{gestion}/membres/{in_eus.pk}/administrateur/")

    assert walk.violations == [], walk.report()


# The keyboard alone -----------------------------------------------------------------------------

NEXT = "main form button[type=submit]:not([name])"  # "Étape suivante", "Confirmer", "Valider"
# Where the focus is, and whether its ring is drawn: the DSFR draws an outline on :focus-visible,
# on the ::before box of a link that enlarges to its card or header block (fr-enlarge-link), and
# on the label's ::before for a radio or a checkbox (the input itself is transparent). A
# box-shadow proves nothing here: the DSFR's fields always have one, as their bottom border.
FOCUS = """selector => {
    const element = document.activeElement;
    if (!element || element === document.body) {
        return {matches: false, visible: false, element: "body"};
    }
    const outlined = style => style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
    let drawn = element;
    let ring = outlined(getComputedStyle(element)) || outlined(getComputedStyle(element, "::before"));
    if (element.matches("input[type=checkbox], input[type=radio]") && element.labels.length) {
        drawn = element.labels[0];
        ring = outlined(getComputedStyle(drawn, "::before"));
    }
    const box = drawn.getBoundingClientRect();
    const text = (element.innerText || element.value || "").trim().replace(/\\s+/g, " ").slice(0, 50);
    return {
        matches: element.matches(selector),
        visible: ring && box.width > 0 && box.height > 0,
        element: `${element.tagName.toLowerCase()}${element.id ? "#" + element.id : ""} «${text}»`,
    };
}"""


class Keyboard:
    """Drives the page with keys only, checking at every stop that the focus can be seen."""

    def __init__(self, page):
        self.page = page

    def focus(self, selector: str = "*") -> dict:
        focus = self.page.evaluate(FOCUS, selector)
        assert focus["visible"], f"no visible focus on {focus['element']} ({self.page.url})"
        return focus

    def tab_to(self, selector: str, *, key: str = "Tab", limit: int = 60) -> None:
        stops = []
        for _ in range(limit):
            self.page.keyboard.press(key)
            if self.page.evaluate("() => document.activeElement === document.body"):
                break  # out of the page: past its last or before its first stop
            focus = self.focus(selector)
            stops.append(focus["element"])
            if focus["matches"]:
                return
        raise AssertionError(f"{selector} not reached with {key} on {self.page.url}: {stops}")

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)

    def submit(self, key: str = "Enter") -> None:
        with self.page.expect_navigation():
            self.page.keyboard.press(key)
        self.page.wait_for_load_state()

    def choose(self, option: str) -> None:
        """In the focused (closed) list, go down option by option to ``option``."""
        for _ in range(60):
            if self.page.evaluate("() => document.activeElement.selectedOptions[0]?.text.trim()") == option:
                return
            self.page.keyboard.press("ArrowDown")
        raise AssertionError(f"option {option!r} not reached with ArrowDown")

    def errors_come_first(self, field: str) -> None:
        """A form sent back with errors: the summary at the top has the focus, its first link
        comes next, and following that link brings the focus to ``field``."""
        focus = self.page.evaluate(FOCUS, "#form-errors")
        assert focus["matches"], f"the error summary does not have the focus, {focus['element']} has"
        self.focus()
        summary_first = self.page.evaluate(
            """() => [...document.querySelectorAll("main a[href], main button, main input:not([type=hidden]), main select, main textarea")]
                .filter(element => element.offsetParent !== null)[0]?.closest("#form-errors") !== null"""
        )
        assert summary_first, "something can be focused in the page before the error summary"
        self.tab_to("#form-errors a")
        self.press("Enter")
        focus = self.focus(field)
        assert focus["matches"], f"the summary's first link leads to {focus['element']}, not {field}"


def test_the_signup_wizard_with_the_keyboard_alone(live_server, browser_page, settings):
    settings.CAPTCHA_TEST_MODE = True
    settings.PORTAL_ONBOARDING_RULES = ["R1", "R3"]  # the first user is offered the admin role
    settings.PORTAL_CLIENT_NUMBERS = True
    settings.PORTAL_CHOOSE_IDENTIFIANT = True
    make_organisations()
    function = Category.objects.get(name="Maîtres d'ouvrages").functions.first()
    page = browser_page
    keys = Keyboard(page)
    violations = []
    page.goto(live_server.url + "/inscription/?recommencer")

    # Étape 1, sent empty first; the skip link leads to the content.
    keys.tab_to("a[href='#content']")
    keys.press("Enter")
    keys.tab_to(NEXT)
    keys.submit()
    screenshot(page, "a11y-clavier-etape-1-erreurs")
    keys.errors_come_first("#id_fonction-category")
    keys.choose("Maîtres d'ouvrages")
    keys.tab_to("#id_fonction-function")
    keys.choose(function.name)
    keys.tab_to("#id_fonction-title")
    keys.type("Chef de projet renouvellement urbain")
    keys.tab_to("[name=fonction-flags]")  # Quartiers Fertiles, shown for this category
    keys.press("Space")
    keys.tab_to("[name=fonction-civilite]")
    keys.press("ArrowDown")  # Madame, then Monsieur
    keys.tab_to("#id_fonction-first_name")
    keys.type("Pierre")
    keys.tab_to("#id_fonction-last_name")
    keys.type("Durand")
    keys.tab_to(NEXT)
    keys.submit()

    # Étape 2: "Étape suivante" without an organisation, then the search and a result.
    assert page.url.endswith("/inscription/organisme/")
    keys.tab_to(NEXT)
    keys.submit()
    keys.errors_come_first("#organisme-siret-error")
    keys.tab_to("#id_organisme-query", key="Shift+Tab")
    keys.type("commune eus")
    keys.submit()  # Enter in the field: "Rechercher" is the form's first button
    keys.tab_to("button[name=organisme-siret]")
    screenshot(page, "a11y-clavier-etape-2-resultat")
    keys.submit()

    # Étape 3: the address is the establishment's; the rest is typed after the errors.
    assert page.url.endswith("/inscription/coordonnees/")
    keys.tab_to(NEXT)
    keys.submit()
    keys.errors_come_first("#id_coordonnees-email")
    keys.type("pierre.durand@mairie-eus.fr")
    keys.tab_to("#id_coordonnees-phone_landline")
    keys.type("04 68 96 00 00")
    keys.tab_to("#id_coordonnees-identifiant")
    keys.type("pdurand.eus")
    keys.tab_to(NEXT)
    keys.submit()

    # Étape 4: the admin role offered; confirmed at the second try.
    assert page.url.endswith("/inscription/confirmation/")
    summary = page.locator("main").inner_text()
    for answer in ["Maîtres d'ouvrages", function.name, "Quartiers Fertiles", "Monsieur Pierre Durand"]:
        assert answer in summary  # what the keys chose in the lists, the box and the radios
    violations += axe_check(page, "confirmation, rôle d'administrateur proposé")
    # "Modifier" (a button of the step's form, placed by its part of the summary) goes back to
    # that step, the answers kept; "Étape suivante" comes back.
    keys.tab_to("button[value=coordonnees]")
    keys.submit()
    assert page.url.endswith("/inscription/coordonnees/")
    assert page.locator("#id_coordonnees-email").input_value() == "pierre.durand@mairie-eus.fr"
    keys.tab_to(NEXT)
    keys.submit()
    assert page.url.endswith("/inscription/confirmation/")
    keys.tab_to(NEXT)
    keys.submit()
    screenshot(page, "a11y-clavier-etape-4-erreurs")
    keys.errors_come_first("#id_confirmation-captcha_1")
    keys.type("PASSED")
    keys.tab_to("#id_confirmation-accept_admin_role", key="Shift+Tab")  # above the image
    keys.press("Space")
    keys.tab_to("#id_confirmation-accept_cgu")
    keys.press("Space")
    keys.tab_to(NEXT)
    keys.submit()

    page.wait_for_url("**/inscription/code/**")
    assert keys.focus("#id_code")["matches"], "the code's field does not have the focus at once"
    violations += axe_check(page, "code d'inscription (clavier)")
    assert violations == [], "\n".join(violations)
