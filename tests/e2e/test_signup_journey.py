"""A stranger's whole journey in Chromium: signup, staff approval, access e-mail, password, login."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from organisations.models import Category, Membership
from tests.accounts.factories import UserFactory
from tests.e2e.conftest import screenshot
from tests.organisations.factories import EstablishmentFactory, LegalUnitFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
NEW_PASSWORD = "Une phrase de passe solide 2026"


def _last_mail_matching(pattern):
    for message in reversed(mail.outbox):
        match = re.search(pattern, message.body, re.MULTILINE)
        if match:
            return message, match
    raise AssertionError(f"no e-mail matches {pattern!r}: {[m.subject for m in mail.outbox]}")


def test_a_stranger_signs_up_is_approved_sets_a_password_and_logs_in(live_server, browser_page, settings):
    settings.CAPTCHA_TEST_MODE = True
    settings.PORTAL_ONBOARDING_RULES = ["R2", "R4"]  # the anru preset: no identifiant to choose
    settings.PORTAL_CHOOSE_IDENTIFIANT = False
    unit = LegalUnitFactory(
        siren="200046977", denomination="METROPOLE DE LYON", sigle="", legal_category="7346"
    )
    EstablishmentFactory(
        legal_unit=unit,
        siret="20004697700019",
        street_number="20",
        street_type="RUE",
        street_name="DU LAC",
        postal_code="69003",
        city="LYON",
        commune_code="69383",
        activity="84.11Z",
    )
    staff = UserFactory(identifiant="agent.instructeur", is_staff=True, is_superuser=True)
    page = browser_page

    page.goto(live_server.url + "/")
    screenshot(page, "01-accueil")
    page.get_by_role("link", name="Créer un compte").first.click()

    # Étape 1
    page.wait_for_url("**/inscription/fonction/")
    assert "Étape 1 sur 4" in page.content()
    page.get_by_label("Catégorie").select_option(label="Maîtres d'ouvrages")
    function = Category.objects.get(name="Maîtres d'ouvrages").functions.first()
    page.get_by_label("Fonction").select_option(label=function.name)
    page.get_by_label("Titre").fill("Chef de projet renouvellement urbain")
    page.get_by_text("Madame", exact=True).click()
    page.get_by_label("Prénom").fill("Inès")
    page.get_by_label("Nom", exact=True).fill("Benali")
    screenshot(page, "02-etape-1-fonction")
    page.get_by_role("button", name="Étape suivante").click()

    # Étape 2
    page.wait_for_url("**/inscription/organisme/")
    page.locator("#id_organisme-query").fill("metropole lyon")
    page.get_by_role("button", name="Rechercher").click()
    assert "20004697700019" in page.content()
    screenshot(page, "03-etape-2-organisme")
    page.get_by_role("button", name=re.compile("Choisir METROPOLE DE LYON")).click()

    # Étape 3, prefilled
    page.wait_for_url("**/inscription/coordonnees/")
    assert page.get_by_label("Adresse", exact=True).input_value() == "20 RUE DU LAC"
    assert page.get_by_label("Code postal").input_value() == "69003"
    page.get_by_label("Adresse électronique professionnelle").fill("ines.benali@grandlyon.com")
    page.get_by_label("Téléphone fixe").fill("04 78 63 40 40")
    screenshot(page, "04-etape-3-coordonnees")
    page.get_by_role("button", name="Étape suivante").click()

    # Étape 4
    page.wait_for_url("**/inscription/confirmation/")
    assert "Chef de projet renouvellement urbain" in page.content()
    page.get_by_label(re.compile("recopiez les caractères")).fill("PASSED")
    page.locator("label[for=id_confirmation-accept_cgu]").click()  # DSFR draws the box on the label
    screenshot(page, "05-etape-4-confirmation")
    page.get_by_role("button", name="Confirmer").click()

    # The e-mail code
    page.wait_for_url("**/inscription/code/**")
    _, match = _last_mail_matching(r"^\s+(\d{6})$")
    screenshot(page, "06-code")
    page.get_by_label("Code reçu par e-mail").fill(match.group(1))
    page.get_by_role("button", name="Valider").click()
    page.wait_for_url("**/inscription/resultat/**")
    expect(page.get_by_role("heading", name="Votre inscription est en cours de validation")).to_be_visible()
    screenshot(page, "07-inscription-en-attente")
    membership = Membership.objects.get()
    assert membership.status == "pending_staff"

    # Staff approve in the admin
    page.goto(live_server.url + "/admin/login/")
    page.get_by_label(re.compile("Identifiant")).fill(staff.identifiant)
    page.get_by_label("Mot de passe").fill("Mot-de-passe-solide-2026")
    page.get_by_role("button", name=re.compile("Connexion|Se connecter")).click()
    page.goto(live_server.url + "/admin/organisations/membership/?status__exact=pending_staff")
    screenshot(page, "08-admin-file-de-validation")
    page.get_by_role("link", name=re.compile("Benali")).first.click()
    page.get_by_role("button", name="Valider l’inscription").click()
    expect(page.get_by_text("est validée")).to_be_visible()
    screenshot(page, "09-admin-inscription-validee")
    membership.refresh_from_db()
    assert membership.status == "approved"
    page.get_by_role("button", name=re.compile("Déconnexion|Se déconnecter")).first.click()

    # The access e-mail, the password, the first login
    message, match = _last_mail_matching(r"(https?://\S+/acces/\S+/)")
    assert message.subject.startswith("Création de mon accès technique")
    assert message.to == ["ines.benali@grandlyon.com"]
    page.goto(
        match.group(1)
        .replace("http://127.0.0.1:8000", live_server.url)
        .replace("http://testserver", live_server.url)
    )
    screenshot(page, "10-choix-du-mot-de-passe")
    page.locator("#id_new_password1").fill(NEW_PASSWORD)
    page.locator("#id_new_password2").fill(NEW_PASSWORD)
    page.get_by_role("button", name=re.compile("Enregistrer|Valider|Choisir")).click()
    screenshot(page, "11-mot-de-passe-enregistre")
    page.context.clear_cookies()

    page.goto(live_server.url + "/connexion/")
    page.get_by_label("Identifiant ou adresse électronique").fill(membership.user.identifiant)
    page.get_by_label("Mot de passe").fill(NEW_PASSWORD)
    screenshot(page, "12-connexion")
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(live_server.url + "/espace/")
    expect(page.get_by_role("heading", name="Tableau de bord", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="METROPOLE DE LYON")).to_be_visible()
    screenshot(page, "13-connecte")
