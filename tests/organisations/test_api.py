import pytest
from django.urls import reverse

from tests.organisations.factories import EstablishmentFactory, LegalUnitFactory

pytestmark = pytest.mark.django_db
URL = "/api/organisations"


@pytest.fixture
def paris():
    unit = LegalUnitFactory(
        siren="217500016", denomination="COMMUNE DE PARIS", sigle="", legal_category="7210"
    )
    return EstablishmentFactory(
        legal_unit=unit,
        siret="21750001600019",
        postal_code="75004",
        city="PARIS",
        commune_code="75104",
        cedex_code="75196",
    )


def test_the_url_is_the_documented_one():
    assert reverse("api_organisations") == URL


def test_search_by_name_returns_the_documented_fields(client, paris, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        response = client.get(URL, {"q": "commune paris"})
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["count_exact"], body["page"], body["pages"], body["per_page"]) == (
        1,
        True,
        1,
        1,
        10,
    )
    assert body["results"][0] == {
        "siret": "21750001600019",
        "siren": "217500016",
        "nom": "COMMUNE DE PARIS",
        "enseigne": "",
        "sigle": "",
        "categorie_juridique": "7210",
        "departement": "75",
        "siege": True,
        "ouvert": True,
        "adresse": "1 PL DE L'HOTEL DE VILLE",
        "complement_adresse": "",
        "code_postal": "75004",
        "ville": "PARIS",
        "code_cedex": "75196",
        "activite_principale": "84.11Z",
        "activite_principale_libelle": "Administration publique générale",
    }


def test_postal_code_matches_the_cedex_code_and_departement_filters(client, paris):
    assert client.get(URL, {"q": "paris", "code_postal": "75196"}).json()["count"] == 1
    assert client.get(URL, {"q": "paris", "departement": "75"}).json()["count"] == 1
    assert client.get(URL, {"q": "paris", "departement": "2A"}).json()["count"] == 0


def test_pages_of_ten(client):
    for number in range(23):
        EstablishmentFactory(legal_unit=LegalUnitFactory(denomination=f"SYNDICAT DES EAUX {number}"))
    body = client.get(URL, {"q": "syndicat eaux", "page": 3}).json()
    assert (body["count"], body["page"], body["pages"], len(body["results"])) == (23, 3, 3, 3)


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({}, "q", "Indiquez un nom, un SIREN ou un SIRET"),
        ({"q": "12345678901234"}, "q", "Ce numéro SIRET n'est pas valide"),
        ({"q": "123456789"}, "q", "Ce numéro SIREN n'est pas valide"),
        ({"q": "paris", "code_postal": "750"}, "code_postal", "Un code postal compte 5 chiffres."),
        ({"q": "paris", "departement": "999"}, "departement", "Département inconnu"),
        ({"q": "paris", "page": "zéro"}, "page", "La page est un nombre entier"),
        ({"q": "paris", "page": "0"}, "page", "La page est un nombre entier"),
        ({"q": "paris", "page": "101"}, "page", "La page est un nombre entier entre 1 et 100."),
        ({"q": "x" * 100_000}, None, None),
        ({"q": "\x00\x01 paris"}, None, None),
    ],
)
def test_bad_input_gets_a_400_with_a_french_message_never_a_500(client, paris, params, field, message):
    response = client.get(URL, params)
    if field is None:
        assert response.status_code in (200, 400)
        return
    assert response.status_code == 400
    assert message in response.json()["errors"][field][0]


def test_rate_limited_per_ip(client, paris, monkeypatch):
    monkeypatch.setattr("organisations.api.REQUESTS_PER_MINUTE", 3)
    statuses = [client.get(URL, {"q": "paris"}, REMOTE_ADDR="198.51.100.7").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get(URL, {"q": "paris"}, REMOTE_ADDR="198.51.100.8").status_code == 200


def test_only_get(client):
    assert client.post(URL, {"q": "paris"}).status_code == 405


def test_beyond_the_count_limit_the_count_is_not_exact(client, monkeypatch):
    from organisations import search

    monkeypatch.setattr(search, "COUNT_LIMIT", 4)
    EstablishmentFactory.create_batch(6, legal_unit__denomination="SYNDICAT DES EAUX")

    body = client.get(URL, {"q": "syndicat"}).json()

    assert (body["count"], body["count_exact"], len(body["results"])) == (4, False, 6)
