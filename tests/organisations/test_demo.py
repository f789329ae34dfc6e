import io

import pytest
from django.core.management import call_command
from stdnum.fr import siret as siret_number

from organisations.demo import load_demo_organisations
from organisations.models import Establishment, LegalUnit
from organisations.referentials import departement_of_commune, read_csv
from organisations.search import search_establishments

DEMO_ROWS = read_csv("demo_establishments.csv")
COMMUNE_SIRENS = {row["siren"] for row in read_csv("communes.csv") if row["siren"]}


def snapshot() -> tuple:
    units = list(LegalUnit.objects.order_by("siren").values_list())
    establishments = list(Establishment.objects.order_by("siret").values_list())
    return units, establishments


def test_the_demo_file_holds_valid_and_varied_public_bodies():
    sirets = [row["siret"] for row in DEMO_ROWS]
    head_offices = {row["siren"] for row in DEMO_ROWS if row["is_siege"] == "true"}

    assert len(sirets) == len(set(sirets)) >= 40
    assert all(siret_number.is_valid(siret) for siret in sirets)
    assert all(row["siret"].startswith(row["siren"]) for row in DEMO_ROWS)
    assert all(row["siret"][9:] == row["nic_siege"] for row in DEMO_ROWS if row["is_siege"] == "true")
    assert any(row["is_active"] == "false" for row in DEMO_ROWS)
    assert any(row["is_siege"] == "false" and row["siren"] in head_offices for row in DEMO_ROWS)
    assert any(departement_of_commune(row["commune_code"]).startswith("97") for row in DEMO_ROWS)


@pytest.mark.django_db
def test_loading_twice_gives_the_same_rows():
    first = load_demo_organisations()
    rows_after_first = snapshot()

    second = load_demo_organisations()

    assert second == first
    assert snapshot() == rows_after_first
    assert first == {
        "communes": len(COMMUNE_SIRENS),
        "legal_units": len({row["siren"] for row in DEMO_ROWS}),
        "establishments": len(DEMO_ROWS),
    }
    assert LegalUnit.objects.count() == len(COMMUNE_SIRENS | {row["siren"] for row in DEMO_ROWS})
    assert Establishment.objects.count() == len(DEMO_ROWS)


@pytest.mark.django_db
def test_every_commune_is_a_legal_unit():
    load_demo_organisations()

    communes = set(LegalUnit.objects.filter(legal_category="7210").values_list("siren", flat=True))
    assert communes >= COMMUNE_SIRENS
    assert LegalUnit.objects.get(siren="217500016").denomination == "COMMUNE DE PARIS"
    assert LegalUnit.objects.get(siren="210100012").denomination == "COMMUNE DE L'ABERGEMENT-CLÉMENCIAT"
    # A demo row keeps SIRENE's own spelling of the name.
    assert LegalUnit.objects.get(siren="217603513").denomination == "COMMUNE DE LE HAVRE"


@pytest.mark.django_db
def test_the_demo_public_bodies_are_found_by_the_search():
    load_demo_organisations()

    metropole = search_establishments(query="metropole lyon")
    assert [establishment.siret for establishment in metropole.page] == ["20004697700019"]

    ddt = search_establishments(query="direction territoires", postal_code="54000")
    assert [(establishment.siret, establishment.departement) for establishment in ddt.page] == [
        ("13001046500032", "54")
    ]

    guadeloupe = search_establishments(query="police nationale", departement="971")
    assert [establishment.city for establishment in guadeloupe.page] == ["LES ABYMES"]

    lamalou = search_establishments(query="213401268")
    assert [establishment.is_siege for establishment in lamalou.page] == [True, False]


@pytest.mark.django_db
def test_the_load_demo_command_loads_and_reports_the_organisations(settings):
    settings.DEBUG = True
    output = io.StringIO()

    call_command("load_demo", stdout=output)

    units = len({row["siren"] for row in DEMO_ROWS})
    assert (
        f"Organisations : {len(COMMUNE_SIRENS)} communes, {units} organismes publics "
        f"et {len(DEMO_ROWS)} établissements de démonstration."
    ) in output.getvalue()
    assert Establishment.objects.count() == len(DEMO_ROWS)


@pytest.mark.django_db
def test_the_demo_has_an_organisation_admin_with_a_registration_to_decide(settings, client):
    from django.urls import reverse

    from organisations.models import Membership
    from portal.management.commands.load_demo import DEMO_ADMIN_IDENTIFIANT, DEMO_ADMIN_PASSWORD

    settings.DEBUG = True
    output = io.StringIO()
    call_command("load_demo", stdout=output)
    call_command("load_demo", stdout=output)  # idempotent
    assert (
        "Administrateur de structure admin.demo (13001046500032, numéro client 54001) : créé."
        in output.getvalue()
    )
    assert "admin.demo (13001046500032, numéro client 54001) : déjà présent." in output.getvalue()
    admin = Membership.objects.get(user__identifiant=DEMO_ADMIN_IDENTIFIANT)
    assert admin.is_admin
    assert admin.legal_unit_id == "130010465"
    waiting = Membership.objects.get(user__identifiant="membre.demo")
    assert waiting.status == "pending_admin"
    assert waiting.habilitations.count() == 2

    assert client.login(username=DEMO_ADMIN_IDENTIFIANT, password=DEMO_ADMIN_PASSWORD)
    page = client.get(reverse("gestion:home", kwargs={"siren": "130010465"})).content.decode()
    assert "Léa Garnier" in page
