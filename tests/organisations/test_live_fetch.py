"""A SIREN or SIRET typed by a user but missing from the mirror is fetched live, or explained."""

import json
from pathlib import Path

import pytest
import requests
import responses
from django.urls import reverse
from stdnum import luhn

from organisations import sync
from organisations.models import Establishment, LegalUnit
from organisations.search import search_establishments
from organisations.sirene_api import LIVE_INSEE_REQUESTS_PER_MINUTE
from tests.accounts.helpers import text
from tests.accounts.test_signup import function_data, post_step
from tests.organisations.factories import EstablishmentFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "api_fixtures"
INSEE = "https://api.insee.fr/api-sirene/3.11"
SEARCH = "https://recherche-entreprises.api.gouv.fr/search"
KEY = "cle-insee-de-test"
DOWN_NOTE = (
    "Le répertoire SIRENE ne répond pas pour le moment : ce numéro n'est pas encore dans notre copie du "
    "répertoire et n'a pas pu y être recherché. Réessayez dans quelques minutes, ou recherchez votre "
    "organisme par son nom."
)
RATE_LIMITED_NOTE = (
    "Le répertoire SIRENE ne répond pas pour le moment : trop de numéros y ont été recherchés ces "
    "dernières minutes. Réessayez dans une minute, ou recherchez votre organisme par son nom."
)
TRANSPORTS_SIRET = "99100005000013"  # insee_etablissement.json
MARSEILLE_SIREN, MARSEILLE_SIEGE, MARSEILLE_CTM = "991000076", "99100007600018", "99100007600026"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def found(results) -> list[str]:
    return [establishment.siret for establishment in results.page]


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture(autouse=True)
def _apis(settings):
    settings.SIRENE_LIVE_FETCH = True
    settings.INSEE_API_KEY = ""
    settings.INSEE_API_URL = INSEE
    settings.RECHERCHE_ENTREPRISES_URL = "https://recherche-entreprises.api.gouv.fr"


@pytest.fixture
def insee_key(settings):
    settings.INSEE_API_KEY = KEY


def test_a_missing_siret_is_fetched_from_insee_stored_indexed_and_found(api, insee_key):
    api.get(f"{INSEE}/siret/{TRANSPORTS_SIRET}", json=fixture("insee_etablissement.json"))

    results = search_establishments(query="991 000 050 00013")

    assert (found(results), results.notes, results.error) == ([TRANSPORTS_SIRET], [], "")
    assert api.calls[0].request.headers["X-INSEE-Api-Key-Integration"] == KEY
    establishment = Establishment.objects.get(siret=TRANSPORTS_SIRET)
    assert establishment.display_name == "SYNDICAT MIXTE DES TRANSPORTS SUBURBAINS DE NANCY"
    assert (establishment.street_address, establishment.cedex_code, establishment.departement) == (
        "22 RUE SAINTE-CATHERINE",
        "54035",
        "54",
    )
    # The sync's starting mark is the latest processing date held: a live row does not move it.
    assert establishment.last_processed_at is None
    assert LegalUnit.objects.get(siren="991000050").sigle == "SMTS"
    assert found(search_establishments(query="transports suburbains nancy")) == [TRANSPORTS_SIRET]
    assert found(search_establishments(query=TRANSPORTS_SIRET)) == [TRANSPORTS_SIRET]
    assert len(api.calls) == 1


def test_a_missing_siren_brings_its_legal_unit_and_head_office_from_insee(api, insee_key):
    api.get(f"{INSEE}/siren/991000050", json=fixture("insee_unite_legale.json"))
    api.get(f"{INSEE}/siret/{TRANSPORTS_SIRET}", json=fixture("insee_etablissement.json"))

    results = search_establishments(query="991000050")

    assert (found(results), results.notes) == ([TRANSPORTS_SIRET], [])
    assert [call.request.path_url for call in api.calls] == [
        "/api-sirene/3.11/siren/991000050",
        f"/api-sirene/3.11/siret/{TRANSPORTS_SIRET}",
    ]
    unit = LegalUnit.objects.get(siren="991000050")
    assert (unit.denomination, unit.nic_siege, unit.legal_category) == (
        "SYNDICAT MIXTE DES TRANSPORTS SUBURBAINS DE NANCY",
        "00013",
        "7354",
    )


@pytest.mark.parametrize(
    ("typed", "answer", "expected"),
    [
        (MARSEILLE_CTM, "recherche_entreprises_siret.json", [MARSEILLE_CTM]),
        (MARSEILLE_SIREN, "recherche_entreprises_siren.json", [MARSEILLE_SIEGE]),
    ],
)
def test_without_an_insee_key_the_api_recherche_entreprises_answers(api, typed, answer, expected):
    api.get(SEARCH, json=fixture(answer), match=[responses.matchers.query_param_matcher({"q": typed})])

    results = search_establishments(query=typed)

    assert (found(results), results.notes) == (expected, [])
    assert len(api.calls) == 1
    unit = LegalUnit.objects.get(siren=MARSEILLE_SIREN)
    assert (unit.denomination, unit.legal_category, unit.nic_siege) == (
        "COMMUNE DE MARSEILLE",
        "7210",
        "00018",
    )
    siege = Establishment.objects.get(siret=MARSEILLE_SIEGE)
    assert (siege.is_siege, siege.street_address, siege.address_complement) == (
        True,
        "1 PL DU GENERAL DE GAULLE",
        "COUR D'HONNEUR",
    )
    assert (siege.postal_code, siege.city, siege.commune_code, siege.departement) == (
        "13001",
        "MARSEILLE",
        "13201",
        "13",
    )


def test_a_secondary_establishment_from_recherche_entreprises_keeps_its_one_line_address(api):
    api.get(SEARCH, json=fixture("recherche_entreprises_siret.json"))

    search_establishments(query=MARSEILLE_CTM)

    workshop = Establishment.objects.get(siret=MARSEILLE_CTM)
    assert (workshop.name, workshop.is_siege, workshop.is_active) == (
        "CENTRE TECHNIQUE MUNICIPAL",
        False,
        True,
    )
    assert (workshop.street_address, workshop.postal_code, workshop.city) == (
        "CENTRE TECHNIQUE 38 BD DE LA LIBERATION",
        "13001",
        "MARSEILLE",
    )


def test_when_insee_fails_the_api_recherche_entreprises_answers(api, insee_key):
    api.get(f"{INSEE}/siret/{MARSEILLE_CTM}", status=500)
    api.get(SEARCH, json=fixture("recherche_entreprises_siret.json"))

    results = search_establishments(query=MARSEILLE_CTM)

    assert (found(results), results.notes) == ([MARSEILLE_CTM], [])
    assert len(api.calls) == 2  # in a web request: one attempt each, no waiting


def test_a_non_diffusible_establishment_fetched_live_is_stored_but_never_shown(api, insee_key):
    siret = "99100006800015"
    api.get(f"{INSEE}/siret/{siret}", json=fixture("insee_etablissement_non_diffusible.json"))

    results = search_establishments(query=siret)

    assert (results.total, results.notes, results.error) == (0, [], "")
    hidden = Establishment.objects.get(siret=siret)
    assert (hidden.is_diffusible, hidden.name, hidden.street_address) == (False, "", "")
    assert search_establishments(query=siret[:9]).total == 0
    assert len(api.calls) == 1  # stored: never asked again


@pytest.mark.parametrize("with_key", [True, False])
@pytest.mark.parametrize("typed", [MARSEILLE_CTM, MARSEILLE_SIREN])
@pytest.mark.parametrize("failure", [500, 503, requests.ConnectionError("injoignable")])
def test_when_the_apis_are_down_the_local_results_come_with_a_note(api, settings, with_key, typed, failure):
    if with_key:
        settings.INSEE_API_KEY = KEY
    for url in (f"{INSEE}/siret/{typed}", f"{INSEE}/siren/{typed}", SEARCH):
        if isinstance(failure, int):
            api.get(url, status=failure)
        else:
            api.get(url, body=failure)

    results = search_establishments(query=typed)

    assert (results.total, results.error, results.notes) == (0, "", [DOWN_NOTE])
    assert len(api.calls) == (2 if with_key else 1)
    # A struggling API is left alone for a minute: the next searches answer at once.
    assert search_establishments(query=typed).notes == [DOWN_NOTE]
    assert len(api.calls) == (2 if with_key else 1)


def test_when_the_apis_rate_limit_the_note_says_so(api, insee_key):
    api.get(f"{INSEE}/siret/{MARSEILLE_CTM}", status=429, headers={"Retry-After": "60"})
    api.get(SEARCH, status=429, headers={"Retry-After": "1"})

    results = search_establishments(query=MARSEILLE_CTM)

    assert (results.total, results.notes) == (0, [RATE_LIMITED_NOTE])


def test_the_local_results_stay_when_a_number_is_known_but_the_apis_are_down(api, insee_key):
    local = EstablishmentFactory(legal_unit__siren=MARSEILLE_SIREN, siret=MARSEILLE_SIEGE)
    api.get(f"{INSEE}/siret/{MARSEILLE_CTM}", status=503)
    api.get(SEARCH, status=503)

    assert found(search_establishments(query=MARSEILLE_SIREN)) == [local.siret]
    results = search_establishments(query=MARSEILLE_CTM)
    assert (results.total, results.notes) == (0, [DOWN_NOTE])
    assert len(api.calls) == 2  # only for the missing SIRET


def test_the_portal_caps_live_insee_calls_at_25_a_minute(api, insee_key):
    api.add(responses.GET, responses.matchers.re.compile(rf"{INSEE}/siret/\d{{14}}"), status=404)
    api.get(SEARCH, json=fixture("recherche_entreprises_empty.json"))
    numbers = [luhn.calc_check_digit(f"9920000{n:06d}") for n in range(LIVE_INSEE_REQUESTS_PER_MINUTE + 1)]
    numbers = [f"9920000{n:06d}{digit}" for n, digit in enumerate(numbers)]

    for number in numbers:
        assert sync.fetch_missing(number) is False

    insee_calls = [call for call in api.calls if call.request.url.startswith(INSEE)]
    assert len(insee_calls) == LIVE_INSEE_REQUESTS_PER_MINUTE == 25
    assert [call.request.params["q"] for call in api.calls if call.request.url.startswith(SEARCH)] == [
        numbers[-1]
    ]


def test_a_number_no_api_knows_is_not_asked_for_again_within_the_hour(api, insee_key):
    api.get(f"{INSEE}/siret/{MARSEILLE_CTM}", status=404, json=fixture("insee_not_found.json"))

    for _attempt in range(3):
        results = search_establishments(query=MARSEILLE_CTM)
        assert (results.total, results.notes) == (0, [])
    assert len(api.calls) == 1


def test_a_number_in_the_mirror_is_never_fetched_even_when_hidden(api, insee_key):
    shown = EstablishmentFactory()
    hidden = EstablishmentFactory(non_diffusible=True)

    assert found(search_establishments(query=shown.siret)) == [shown.siret]
    assert found(search_establishments(query=shown.siren)) == [shown.siret]
    assert search_establishments(query=hidden.siret).total == 0
    assert len(api.calls) == 0


def test_an_unreadable_answer_is_a_failure_like_any_other(api, insee_key):
    api.get(f"{INSEE}/siret/{MARSEILLE_CTM}", body="<html>Maintenance</html>", content_type="text/html")
    api.get(SEARCH, body="<html>Maintenance</html>", content_type="text/html")

    results = search_establishments(query=MARSEILLE_CTM)

    assert results.notes == [DOWN_NOTE]


def test_an_unexpected_error_in_the_live_fetch_never_reaches_the_user(monkeypatch, caplog):
    def broken(number):
        raise KeyError("siege")

    monkeypatch.setattr(sync, "fetch_missing", broken)

    results = search_establishments(query=MARSEILLE_CTM)

    assert (results.total, results.error, results.notes) == (0, "", [DOWN_NOTE])
    assert "Recherche en ligne d'un numéro SIRENE impossible" in caplog.text


def test_the_live_fetch_can_be_switched_off(api, settings, insee_key):
    settings.SIRENE_LIVE_FETCH = False

    results = search_establishments(query=MARSEILLE_CTM)

    assert (results.total, results.notes) == (0, [])
    assert len(api.calls) == 0


# Through the signup wizard's organisation step -------------------------------------------------


def search_in_the_wizard(client, typed):
    client.get(reverse("signup"), follow=True)
    assert post_step(client, "fonction", function_data()).status_code == 302
    return post_step(client, "organisme", {"query": typed, "postal_code": ""}, action="search")


@pytest.mark.parametrize("with_key", [True, False])
def test_the_wizard_answers_from_the_mirror_when_the_api_fails(client, api, settings, with_key):
    if with_key:
        settings.INSEE_API_KEY = KEY
    api.get(f"{INSEE}/siret/{MARSEILLE_CTM}", status=500)
    api.get(SEARCH, status=500)

    response = search_in_the_wizard(client, MARSEILLE_CTM)

    assert response.status_code == 200
    assert "Aucun organisme ne correspond à votre recherche." in text(response)
    assert len(api.calls) == (2 if with_key else 1)


def test_the_wizard_offers_an_establishment_fetched_live(client, api):
    api.get(SEARCH, json=fixture("recherche_entreprises_siret.json"))

    response = search_in_the_wizard(client, MARSEILLE_CTM)

    assert response.status_code == 200
    page = text(response)
    assert "1 organisme trouvé" in page
    assert f'name="organisme-siret" value="{MARSEILLE_CTM}"' in page
    assert "COMMUNE DE MARSEILLE" in page
