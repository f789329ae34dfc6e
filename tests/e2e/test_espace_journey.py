"""The member's space in Chromium, along the reference bdt-espace-personnel-habilitations.txt: log
in, add a structure, complete the profile, request two services, the admin validates, accept the
conditions particulières, reach the service."""

import re

import pytest
from playwright.sync_api import expect

from habilitations.enums import HabilitationStatus
from habilitations.models import ConditionsAcceptance, Habilitation, Service, ServiceConditions
from organisations.models import Function
from tests.accounts.factories import UserFactory
from tests.e2e.conftest import screenshot
from tests.organisations.factories import EstablishmentFactory, LegalUnitFactory, MembershipFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
PASSWORD = "Mot-de-passe-solide-2026"  # the factories' password
LOANS_URL = "https://prets.operateur.example/"


def log_in(page, live_server, identifiant):
    page.goto(live_server.url + "/connexion/")
    page.get_by_label("Identifiant ou adresse électronique").fill(identifiant)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/espace/")


def test_a_member_adds_a_structure_requests_services_and_reaches_one(live_server, browser_page, settings):
    settings.PORTAL_ONBOARDING_RULES = ["R1", "R3"]
    unit = LegalUnitFactory(siren="200046977", denomination="COMMUNE D EUS", legal_category="7210")
    establishment = EstablishmentFactory(
        legal_unit=unit, siret="20004697700019", postal_code="66500", city="EUS", commune_code="66073"
    )
    admin = MembershipFactory(establishment=establishment, admin=True, user__first_name="Jean")
    loans = Service.objects.get(name="Création de demandes de prêts")
    loans.url = LOANS_URL
    loans.save()
    files = Service.objects.get(name="Consultation des dossiers")
    ServiceConditions.objects.create(
        service=loans, version="2026-01", text="Les demandes de prêts engagent votre structure."
    )
    member = UserFactory(identifiant="cmartin", first_name="Cendrine", last_name="Martin", civilite="mme")
    page = browser_page
    # The loans application is outside our walls: Chromium gets its page from here.
    page.route(
        LOANS_URL + "**",
        lambda route: route.fulfill(
            body="<h1>Mes prêts en ligne</h1>", content_type="text/html; charset=utf-8"
        ),
    )

    # 1. Log in: the dashboard invites to add a structure.
    log_in(page, live_server, "cmartin")
    expect(page.get_by_text("Bienvenue Madame Cendrine Martin")).to_be_visible()
    screenshot(page, "espace-01-tableau-de-bord-vide")

    # 2. Ajouter une structure, found by the registry search.
    page.get_by_role("link", name="Ajouter une structure").first.click()
    page.locator("#id_organisme-query").fill("commune eus")
    page.get_by_role("button", name="Rechercher").click()
    screenshot(page, "espace-02-ajouter-une-structure")
    page.get_by_role("button", name=re.compile("Choisir COMMUNE D EUS")).click()
    page.wait_for_url("**/espace/")
    expect(page.get_by_text("COMMUNE D EUS est ajoutée à vos structures")).to_be_visible()

    # 3. Complete the profile in the structure: the function, required for loan requests.
    page.get_by_role("link", name=re.compile("Mes informations dans cette structure")).click()
    page.get_by_role("link", name="Modifier ma fonction").click()
    function = Function.objects.filter(category__name="Maîtres d'ouvrages").first()
    page.get_by_label("Fonction").select_option(label=function.name)
    screenshot(page, "espace-03-fonction")
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_text(function.name).first).to_be_visible()

    # 4. Request two services from the catalogue.
    page.goto(live_server.url + "/espace/")
    page.get_by_role("link", name="Voir tous les services").click()
    screenshot(page, "espace-04-tous-les-services")
    for service in (loans, files):
        page.get_by_role("link", name=re.compile(f"Demander l.accès au service {service.name}")).click()
        expect(page.get_by_text("votre demande doit être validée").first).to_be_visible()
        page.get_by_role("button", name="Accepter").click()
    screenshot(page, "espace-05-demandes-en-cours")
    requested = Habilitation.objects.filter(membership__user=member, status=HabilitationStatus.REQUESTED)
    assert sorted(h.service.name for h in requested) == sorted([loans.name, files.name])

    # 5. The organisation's admin validates the registration and both services.
    admin_context = page.context.browser.new_context(locale="fr-FR")
    admin_page = admin_context.new_page()
    log_in(admin_page, live_server, admin.user.identifiant)
    admin_page.get_by_role("link", name="Gérer les utilisateurs de ma structure").click()
    admin_page.get_by_role("link", name=re.compile("Cendrine Martin")).first.click()
    screenshot(admin_page, "espace-06-administrateur-decide")
    admin_page.get_by_role("button", name=re.compile("Valider l.inscription")).click()
    expect(
        admin_page.get_by_text(re.compile("inscription de Cendrine Martin est validée")).first
    ).to_be_visible()
    admin_context.close()

    # 6. Back on the dashboard: the buttons of the validated services; the conditions, then the service.
    page.goto(live_server.url + "/espace/")
    expect(page.get_by_role("link", name=loans.name, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=files.name, exact=True)).to_be_visible()
    screenshot(page, "espace-07-services-valides")
    page.get_by_role("link", name=loans.name, exact=True).click()
    expect(page.get_by_text("Les demandes de prêts engagent votre structure.")).to_be_visible()
    page.locator("label", has_text="J'accepte les conditions particulières").click()
    screenshot(page, "espace-08-conditions-particulieres")
    page.get_by_role("button", name="Valider").click()
    page.wait_for_url(LOANS_URL)
    expect(page.get_by_role("heading", name="Mes prêts en ligne")).to_be_visible()
    screenshot(page, "espace-09-service-atteint")
    assert ConditionsAcceptance.objects.filter(user=member, conditions__version="2026-01").count() == 1

    # A second access goes straight to the service.
    page.goto(live_server.url + "/espace/")
    page.get_by_role("link", name=loans.name, exact=True).click()
    page.wait_for_url(LOANS_URL)
