import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from organisations.client_numbers import import_client_numbers, normalize_client_number
from organisations.models import ClientNumber
from portal.audit.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.accounts.test_signup import function_data, post_step
from tests.organisations.factories import EstablishmentFactory, LegalUnitFactory

pytestmark = pytest.mark.django_db

CSV = (
    b"numero_client;siren_ou_siret;nom\n"
    b"000123;217500016;COMMUNE DE PARIS\n"
    b"456;21750001600019;MAIRIE DE PARIS\n"
    b"789;123456789;SIREN FAUX\n"
    b";217500016;SANS NUMERO\n"
    b"0456;217500016;DOUBLON\n"
    b"\n"
)


def test_leading_zeros_and_spaces_are_ignored():
    assert normalize_client_number(" 000 123 ") == "123"
    assert normalize_client_number("0") == "0"
    assert normalize_client_number("") == ""


def test_the_import_saves_valid_lines_and_reports_the_rejected_ones():
    report = import_client_numbers(data=CSV)
    assert (report.created, report.updated) == (2, 0)
    assert [(line, reason) for line, _content, reason in report.rejected] == [
        (4, "SIREN ou SIRET invalide : 123456789."),
        (5, "Numéro client absent ou trop long."),
        (6, "Numéro client en double dans le fichier."),
    ]
    assert ClientNumber.objects.get(number="123").siren == "217500016"
    assert ClientNumber.objects.get(number="456").siret == "21750001600019"

    again = import_client_numbers(data=CSV.replace(b"COMMUNE DE PARIS", b"VILLE DE PARIS"))
    assert (again.created, again.updated) == (0, 2)
    assert ClientNumber.objects.get(number="123").name == "VILLE DE PARIS"
    assert ClientNumber.objects.count() == 2


def test_a_file_without_the_expected_columns_is_refused_whole():
    report = import_client_numbers(data=b"a,b,c\n1,2,3\n")
    assert report.created == 0
    assert "numero_client" in report.rejected[0][2]
    assert import_client_numbers(data=b"").rejected[0][2] == "Le fichier est vide."
    latin1 = "numéro client,siren,nom\n42,217500016,CRÉTEIL\n".encode("latin-1")
    assert import_client_numbers(data=latin1).created == 1


def test_staff_import_a_csv_in_the_admin_and_read_the_report(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    url = reverse("admin:organisations_clientnumber_import")
    page = client.post(
        url, {"file": SimpleUploadedFile("clients.csv", CSV, content_type="text/csv")}
    ).content.decode()
    assert "2 numéros créés, 0 mis à jour, 3 lignes rejetées." in page
    assert "SIREN ou SIRET invalide : 123456789." in page
    assert AuditEntry.objects.get(action="client_numbers.imported").details == {
        "created": 2,
        "updated": 0,
        "rejected": 3,
    }
    client.force_login(UserFactory())
    assert client.get(url).status_code == 302  # the admin's login page


@pytest.mark.parametrize(
    ("typed", "found"), [("000123", True), ("123", True), ("1 2 3", True), ("999", False)]
)
def test_the_wizard_finds_an_organisation_by_client_number(client, settings, typed, found):
    settings.PORTAL_CLIENT_NUMBERS = True
    settings.PORTAL_CONTACT_EMAIL = "contact@operateur.example"
    unit = LegalUnitFactory(siren="217500016", denomination="COMMUNE DE PARIS")
    EstablishmentFactory(legal_unit=unit, siret="21750001600019", city="PARIS", postal_code="75004")
    ClientNumber.objects.create(number="123", siren="217500016")
    client.get(reverse("signup"), follow=True)
    post_step(client, "fonction", function_data())
    page = post_step(
        client, "organisme", {"query": "", "postal_code": "", "client_number": typed}, action="search"
    ).content.decode()
    if found:
        assert "21750001600019" in page
        assert 'name="organisme-siret" value="21750001600019"' in page
    else:
        assert "Ce numéro client est inconnu" in page
        assert "contact@operateur.example" in page


def test_without_client_numbers_the_field_is_not_offered(client, settings):
    settings.PORTAL_CLIENT_NUMBERS = False
    client.get(reverse("signup"), follow=True)
    post_step(client, "fonction", function_data())
    page = client.get(reverse("signup_step", kwargs={"step": "organisme"})).content.decode()
    assert "Numéro client" not in page
