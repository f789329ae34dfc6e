"""Delegated administration in Chromium (reference bdt-services-en-ligne-inscription.txt): the first
user of an organisation claims its admin role, staff print the letter, the user types its code;
a second user asks for two services, the admin grants one and refuses the other, and the second
user sees exactly that."""

import io
import re

import pytest
from django.core import mail
from playwright.sync_api import expect
from pypdf import PdfReader

from habilitations.enums import HabilitationStatus
from habilitations.models import Habilitation
from mailings.models import Letter
from organisations.models import Category, ClientNumber, Membership
from tests.accounts.factories import UserFactory
from tests.e2e.conftest import screenshot
from tests.organisations.factories import EstablishmentFactory, LegalUnitFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
ADMIN_PASSWORD = "Une phrase de passe solide 2026"
MEMBER_PASSWORD = "Encore une phrase solide 2026"
STAFF_PASSWORD = "Mot-de-passe-solide-2026"  # the factories' password


def last_mail(to: str, pattern: str) -> re.Match:
    for message in reversed(mail.outbox):
        if to in message.to and (match := re.search(pattern, message.body, re.MULTILINE)):
            return match
    raise AssertionError(f"no e-mail to {to} matches {pattern!r}: {[m.subject for m in mail.outbox]}")


def local(url: str, live_server) -> str:
    return re.sub(r"^https?://[^/]+", live_server.url, url)


def fill_wizard(page, live_server, *, first_name, last_name, email, identifiant, services=()):
    page.goto(live_server.url + "/inscription/?recommencer")
    page.get_by_label("Catégorie").select_option(label="Maîtres d'ouvrages")
    function = Category.objects.get(name="Maîtres d'ouvrages").functions.first()
    page.get_by_label("Fonction").select_option(label=function.name)
    page.get_by_label("Titre").fill("Directeur financier")
    page.get_by_text("Monsieur", exact=True).click()
    page.get_by_label("Prénom").fill(first_name)
    page.get_by_label("Nom", exact=True).fill(last_name)
    page.get_by_role("button", name="Étape suivante").click()

    page.wait_for_url("**/inscription/organisme/")
    page.get_by_label("Numéro client").fill("000237517")  # the zeros of the letters are ignored
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_role("button", name=re.compile("Choisir SOCIETE COOPERATIVE")).click()

    page.wait_for_url("**/inscription/coordonnees/")
    page.get_by_label("Adresse électronique professionnelle").fill(email)
    page.get_by_label("Téléphone fixe").fill("01 02 03 04 05")
    page.get_by_label("Choisissez votre identifiant").fill(identifiant)
    for service in services:
        page.get_by_text(service, exact=True).click()
    return page


def confirm_and_type_code(page, email, *, accept_role):
    page.get_by_label(re.compile("recopiez les caractères")).fill("PASSED")
    if accept_role:
        page.locator("label[for=id_confirmation-accept_admin_role]").click()
    page.locator("label[for=id_confirmation-accept_cgu]").click()
    page.get_by_role("button", name="Confirmer").click()
    page.wait_for_url("**/inscription/code/**")
    code = last_mail(email, r"^\s+(\d{4,6})$").group(1)
    page.get_by_label("Code reçu par e-mail").fill(code)
    page.get_by_role("button", name="Valider").click()
    page.wait_for_url("**/inscription/resultat/**")


def choose_password(page, live_server, email, password):
    url = last_mail(email, r"(https?://\S+/acces/\S+/)").group(1)
    page.goto(local(url, live_server))
    page.locator("#id_new_password1").fill(password)
    page.locator("#id_new_password2").fill(password)
    page.get_by_role("button", name=re.compile("Enregistrer|Valider|Choisir")).click()
    page.wait_for_url("**/espace/")


def log_in(page, live_server, login, password):
    page.goto(live_server.url + "/connexion/")
    page.get_by_label("Identifiant ou adresse électronique").fill(login)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def test_first_admin_by_letter_then_a_second_user_gets_what_the_admin_granted(
    live_server, browser_page, settings, tmp_path
):
    settings.CAPTCHA_TEST_MODE = True
    settings.PORTAL_ONBOARDING_RULES = ["R1", "R3"]
    settings.PORTAL_CLIENT_NUMBERS = True
    settings.PORTAL_CHOOSE_IDENTIFIANT = True
    unit = LegalUnitFactory(
        siren="775675739",
        denomination="SOCIETE COOPERATIVE HABITATION LOYER MODERE",
        sigle="SCHLM",
        legal_category="5547",
    )
    EstablishmentFactory(
        legal_unit=unit,
        siret="77567573900024",
        street_number="12",
        street_type="RUE",
        street_name="DES LILAS",
        postal_code="69003",
        city="LYON",
        commune_code="69383",
        activity="68.20A",
    )
    ClientNumber.objects.create(number="237517", siren=unit.siren, name=unit.denomination)
    staff = UserFactory(identifiant="agent.instructeur", is_staff=True, is_superuser=True)
    page = browser_page
    browser = page.context.browser

    # 1. The first user signs up: the admin role is offered and accepted.
    fill_wizard(
        page,
        live_server,
        first_name="Pierre",
        last_name="Durand",
        email="pdurand@schlm.fr",
        identifiant="pdurand",
    )
    screenshot(page, "delegation-01-coordonnees-identifiant")
    page.get_by_role("button", name="Étape suivante").click()
    page.wait_for_url("**/inscription/confirmation/")
    expect(page.get_by_text("Vous êtes le premier utilisateur pour l'organisme")).to_be_visible()
    screenshot(page, "delegation-02-premier-utilisateur")
    confirm_and_type_code(page, "pdurand@schlm.fr", accept_role=True)
    expect(page.get_by_text("Un code d'activation a été envoyé par courrier")).to_be_visible()
    screenshot(page, "delegation-03-compte-cree-courrier")
    choose_password(page, live_server, "pdurand@schlm.fr", ADMIN_PASSWORD)
    expect(
        page.get_by_role("heading", name=re.compile("Activez votre rôle d'administrateur"))
    ).to_be_visible()
    screenshot(page, "delegation-04-espace-code-attendu")
    page.context.clear_cookies()

    # 2. Staff print the letters: one PDF, whose text holds the code.
    staff_context = browser.new_context(locale="fr-FR", accept_downloads=True)
    staff_page = staff_context.new_page()
    staff_page.goto(live_server.url + "/admin/login/")
    staff_page.get_by_label(re.compile("Identifiant")).fill(staff.identifiant)
    staff_page.get_by_label("Mot de passe").fill(STAFF_PASSWORD)
    staff_page.get_by_role("button", name=re.compile("Connexion|Se connecter")).click()
    staff_page.goto(live_server.url + "/admin/mailings/letter/")
    screenshot(staff_page, "delegation-05-courriers-a-imprimer")
    with staff_page.expect_download() as download_info:
        staff_page.get_by_role("link", name="Imprimer le courrier à envoyer").click()
    pdf_path = tmp_path / "courriers.pdf"
    download_info.value.save_as(pdf_path)
    reader = PdfReader(io.BytesIO(pdf_path.read_bytes()))
    assert len(reader.pages) == 1
    letter_text = reader.pages[0].extract_text()
    assert "À l'attention du représentant légal" in letter_text
    assert "12 RUE DES LILAS" in letter_text
    assert "69003 LYON" in letter_text
    code = re.search(r"\b([A-Z0-9]{5}-[A-Z0-9]{5})\b", letter_text).group(1)
    # Marked sent: the PDF (and the code in it) is erased.
    staff_page.locator("input.action-select").first.check()
    staff_page.locator("select[name=action]").select_option(label="Marquer comme envoyés")
    staff_page.get_by_role("button", name=re.compile("Envoyer|Exécuter|Go")).click()
    confirm = staff_page.get_by_role("button", name=re.compile("Confirmer|Oui"))
    if confirm.count():
        confirm.first.click()
    expect(staff_page.get_by_text(re.compile("marqué"))).to_be_visible()
    assert Letter.objects.get().pdf is None
    staff_context.close()

    # 3. The first user logs in, is asked for the code, types it: admin.
    log_in(page, live_server, "pdurand", ADMIN_PASSWORD)
    page.wait_for_url("**/espace/")
    page.get_by_label("Code d'activation").fill(code.lower())
    screenshot(page, "delegation-06-saisie-du-code")
    page.get_by_role("button", name="Activer mon rôle").click()
    page.wait_for_url(f"**/structures/{unit.siren}/gestion/")
    expect(page.get_by_text("Votre code est accepté : vous êtes l'administrateur")).to_be_visible()
    screenshot(page, "delegation-07-administrateur")
    admin_membership = Membership.objects.get(user__identifiant="pdurand")
    assert admin_membership.is_admin

    # 4. A second user signs up asking for two services.
    member_context = browser.new_context(locale="fr-FR")
    member_page = member_context.new_page()
    fill_wizard(
        member_page,
        live_server,
        first_name="Valérie",
        last_name="Dupont",
        email="vdupont@schlm.fr",
        identifiant="vdupont",
        services=["Création de demandes de prêts", "Consultation des encours"],
    )
    screenshot(member_page, "delegation-08-services-demandes")
    member_page.get_by_role("button", name="Étape suivante").click()
    member_page.wait_for_url("**/inscription/confirmation/")
    expect(member_page.get_by_text("Un courriel sera envoyé à l'administrateur")).to_be_visible()
    confirm_and_type_code(member_page, "vdupont@schlm.fr", accept_role=False)
    expect(member_page.get_by_text("Un courriel a été envoyé à l'administrateur")).to_be_visible()
    screenshot(member_page, "delegation-09-inscription-transmise")
    member_url = last_mail("pdurand@schlm.fr", r"(https?://\S+/gestion/membres/\d+/)").group(1)

    # 5. The admin grants the loans and refuses the outstanding amounts, with a reason.
    page.goto(local(member_url, live_server))
    expect(page.get_by_text("Valérie Dupont").first).to_be_visible()
    page.get_by_text("Consultation des encours", exact=True).click()  # unticked: refused
    page.get_by_label(re.compile("Motif")).first.fill("Réservé à la direction financière.")
    screenshot(page, "delegation-10-decision-administrateur")
    page.get_by_role("button", name=re.compile("Valider l.inscription")).click()
    expect(
        page.get_by_text(re.compile("inscription de Valérie Dupont est validée", re.IGNORECASE)).first
    ).to_be_visible()
    screenshot(page, "delegation-11-inscription-validee")

    # 6. The second user chooses a password and sees exactly what was granted.
    choose_password(member_page, live_server, "vdupont@schlm.fr", MEMBER_PASSWORD)
    member_context.clear_cookies()
    log_in(member_page, live_server, "vdupont", MEMBER_PASSWORD)
    member_page.wait_for_url("**/espace/")
    services = member_page.locator(".portal-services li")
    expect(services).to_have_count(2)
    expect(services.filter(has_text="Création de demandes de prêts")).to_contain_text("validée")
    expect(services.filter(has_text="Consultation des encours")).to_contain_text("refusée")
    expect(member_page.get_by_text("Réservé à la direction financière.")).to_be_visible()
    screenshot(member_page, "delegation-12-services-accordes")
    member_context.close()
    granted = Habilitation.objects.filter(membership__user__identifiant="vdupont")
    assert sorted((h.service.name, h.status) for h in granted) == [
        ("Consultation des encours", HabilitationStatus.REFUSED),
        ("Création de demandes de prêts", HabilitationStatus.VALIDATED),
    ]
