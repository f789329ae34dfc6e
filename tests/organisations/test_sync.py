"""The daily sync from the INSEE API Sirene 3.11, against answers in its documented shapes."""

import json
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
import responses
from celery.exceptions import Retry
from celery.schedules import crontab
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone
from responses import matchers

from organisations import sync
from organisations.models import Establishment, LegalUnit
from organisations.search import search_establishments
from organisations.sirene_api import (
    INSEE_REQUESTS_PER_MINUTE,
    InseeClient,
    RequestPacer,
    SireneAPIError,
    SireneRateLimited,
    establishment_from_insee,
)
from organisations.tasks import sync_sirene
from tests.organisations.factories import EstablishmentFactory, LegalUnitFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "api_fixtures"
INSEE = "https://api.insee.fr/api-sirene/3.11"
KEY = "cle-insee-de-test"
SINCE = date(2024, 3, 14)
PARIS = ZoneInfo("Europe/Paris")
CURSORS = ["*", "AoEuMjE3NTAwMDE2MDE0ODg=", "AoEuOTkxMDAwMDI3MDAwMTE="]


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class FakeTime:
    """A clock that moves only when someone sleeps, or when a request 'takes' time."""

    def __init__(self):
        self.now = 10_000.0
        self.sleeps = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture(autouse=True)
def _insee(settings):
    settings.INSEE_API_KEY = KEY
    settings.INSEE_API_URL = INSEE


@pytest.fixture
def fake_time():
    return FakeTime()


def insee_client(fake_time: FakeTime, **options) -> InseeClient:
    pacer = RequestPacer(
        limit=INSEE_REQUESTS_PER_MINUTE, period=60, clock=fake_time.clock, sleep=fake_time.sleep
    )
    return InseeClient(api_key=KEY, timeout=5, pacer=pacer, sleep=fake_time.sleep, **options)


def search_matcher(field: str, cursor: str, since: date = SINCE):
    return matchers.query_param_matcher(
        {"q": f"{field}:[{since.isoformat()} TO *]", "nombre": "1000", "curseur": cursor}
    )


def serve_establishment_pages(api, since: date = SINCE) -> None:
    for cursor, page in zip(
        CURSORS, ("insee_siret_page1", "insee_siret_page2", "insee_siret_page3"), strict=True
    ):
        api.get(
            f"{INSEE}/siret",
            json=fixture(f"{page}.json"),
            match=[search_matcher("dateDernierTraitementEtablissement", cursor, since)],
        )


def serve_no_legal_unit(api, since: date = SINCE) -> None:
    # INSEE answers 404 when nothing matches a query.
    api.get(
        f"{INSEE}/siren",
        status=404,
        json=fixture("insee_not_found.json"),
        match=[search_matcher("dateDernierTraitementUniteLegale", "*", since)],
    )


def calls_to(api, path: str) -> list:
    return [call for call in api.calls if call.request.path_url.split("?")[0].endswith(path)]


def table_snapshot() -> list[tuple]:
    units = list(LegalUnit.objects.order_by("siren").values_list())
    establishments = list(Establishment.objects.order_by("siret").values_list())
    return units + establishments


def test_the_sync_follows_the_cursor_over_three_pages_and_stores_every_row(api, fake_time):
    serve_no_legal_unit(api)
    serve_establishment_pages(api)

    report = sync.sync_from_insee(since=SINCE, client=insee_client(fake_time))

    pages = calls_to(api, "/siret")
    assert [call.request.params["curseur"] for call in pages] == CURSORS
    assert {call.request.params["q"] for call in pages} == {
        "dateDernierTraitementEtablissement:[2024-03-14 TO *]"
    }
    assert all(call.request.headers["X-INSEE-Api-Key-Integration"] == KEY for call in api.calls)
    assert (report.pages, report.establishments_created, report.establishments_updated) == (3, 6, 0)
    assert report.legal_units_created == 5
    assert report.indexed == 6

    paris = LegalUnit.objects.get(siren="217500016")
    assert (paris.denomination, paris.legal_category, paris.nic_siege, paris.is_active) == (
        "COMMUNE DE PARIS",
        "7210",
        "00019",
        True,
    )
    finances = Establishment.objects.get(siret="21750001601488")
    assert finances.name == "DIRECTION DES FINANCES ET DES ACHATS"
    assert (finances.street_address, finances.postal_code, finances.city) == (
        "17 BD MORLAND",
        "75004",
        "PARIS 4",
    )
    assert (finances.cedex_code, finances.cedex_label, finances.departement) == (
        "75181",
        "PARIS CEDEX 04",
        "75",
    )
    assert finances.last_processed_at == datetime(2024, 3, 14, 8, 2, 11, tzinfo=PARIS)
    assert Establishment.objects.get(siret="99100001900018").departement == "2A"
    reunion = Establishment.objects.get(siret="99100002700011")
    assert (reunion.departement, reunion.street_address) == ("974", "2 B RUE DE PARIS")
    closed = Establishment.objects.get(siret="99100003500022")
    assert (closed.is_active, closed.name, closed.address_complement) == (
        False,
        "STATION DES PRES",
        "STATION DE POMPAGE",
    )
    hidden = Establishment.objects.get(siret="99100004300018")
    assert (hidden.is_diffusible, hidden.name, hidden.street_address, hidden.city) == (False, "", "", "NANCY")
    assert hidden.legal_unit.denomination == ""

    # The search index is fresh: the rows are found, the non-diffusible one is not.
    assert [row.siret for row in search_establishments(query="finances achats").page] == ["21750001601488"]
    assert [row.siret for row in search_establishments(query="ajaccio").page] == ["99100001900018"]
    found = search_establishments(query="99100004300018")
    assert (found.total, found.notes) == (0, [])
    assert len(api.calls) == 4  # no live fetch: the row is in the mirror


def test_an_empty_answer_ends_the_sync_without_error(api, fake_time):
    serve_no_legal_unit(api)
    api.get(f"{INSEE}/siret", status=404, json=fixture("insee_not_found.json"))

    report = sync.sync_from_insee(since=SINCE, client=insee_client(fake_time))

    assert (report.pages, report.establishments_created, report.legal_units_created) == (0, 0, 0)
    assert len(api.calls) == 2


def test_a_renamed_legal_unit_reindexes_every_establishment_it_has(api, fake_time):
    unit = LegalUnitFactory(siren="991000027", denomination="COMMUNE DE SAINT-DENIS", commune=True)
    town_hall = EstablishmentFactory(legal_unit=unit, siret="99100002700011", city="SAINT-DENIS")
    library = EstablishmentFactory(
        legal_unit=unit, siret="99100002700029", city="SAINT-DENIS", secondary=True
    )
    api.get(
        f"{INSEE}/siren",
        json=fixture("insee_siren_page.json"),
        match=[search_matcher("dateDernierTraitementUniteLegale", "*")],
    )
    api.get(
        f"{INSEE}/siren",
        json=fixture("insee_siren_last_page.json"),
        match=[search_matcher("dateDernierTraitementUniteLegale", "AoEuOTkxMDAwMDY4")],
    )
    api.get(f"{INSEE}/siret", status=404, json=fixture("insee_not_found.json"))

    report = sync.sync_from_insee(since=SINCE, client=insee_client(fake_time))

    assert (report.legal_units_created, report.legal_units_updated, report.indexed) == (1, 1, 2)
    unit.refresh_from_db()
    # The current period wins over the older ones.
    assert unit.denomination == "COMMUNE NOUVELLE DE SAINT-DENIS"
    assert unit.last_processed_at == datetime(2024, 3, 14, 9, 0, tzinfo=PARIS)
    assert sorted(row.siret for row in search_establishments(query="commune nouvelle").page) == [
        town_hall.siret,
        library.siret,
    ]
    assert LegalUnit.objects.get(siren="991000068").is_active is False


def test_running_the_sync_twice_gives_the_same_tables(api, fake_time):
    serve_no_legal_unit(api)
    serve_establishment_pages(api)

    sync.sync_from_insee(since=SINCE, client=insee_client(fake_time))
    first = table_snapshot()
    report = sync.sync_from_insee(since=SINCE, client=insee_client(fake_time))

    assert table_snapshot() == first
    assert (report.establishments_created, report.establishments_updated) == (0, 6)
    assert (report.legal_units_created, report.legal_units_updated) == (0, 5)
    assert Establishment.objects.count() == 6


def test_the_pacing_keeps_every_60_second_window_under_30_requests(api, fake_time):
    pages, sent_at = 75, []

    def next_page(request):
        sent_at.append(fake_time.now)
        fake_time.now += 0.2  # the request itself takes a little time
        cursor = request.params["curseur"]
        number = 0 if cursor == "*" else int(cursor)
        following = str(min(number + 1, pages - 1))
        body = {"header": {"statut": 200, "curseur": cursor, "curseurSuivant": following}}
        body["etablissements"] = [{"siret": f"{number:014d}"}]
        return 200, {}, json.dumps(body)

    api.add_callback(responses.GET, f"{INSEE}/siret", callback=next_page)

    received = list(insee_client(fake_time).establishment_pages(since=SINCE))

    assert len(received) == pages
    assert fake_time.sleeps, "the pacer never waited"
    for index, start in enumerate(sent_at):
        # INSEE allows 30 a minute; the pacer keeps one in reserve for the network's jitter.
        in_minute = [moment for moment in sent_at[index:] if moment < start + 60]
        assert len(in_minute) <= 29, f"{len(in_minute)} requests in the minute from request {index}"
        assert len([moment for moment in sent_at[index:] if moment <= start + 60]) <= 30
    # And no slower than needed: 75 requests take a little over two minutes, not five.
    assert sent_at[-1] - sent_at[0] < 160


@pytest.mark.parametrize("retry_after", ["7", "http-date"])
def test_a_429_waits_as_long_as_retry_after_says_then_succeeds(api, fake_time, retry_after):
    if retry_after == "http-date":
        retry_after = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    url = f"{INSEE}/siret/99100005000013"
    api.get(url, status=429, json=fixture("insee_quota.json"), headers={"Retry-After": retry_after})
    api.get(url, json=fixture("insee_etablissement.json"))

    establishment = insee_client(fake_time).establishment("99100005000013")

    assert establishment["siret"] == "99100005000013"
    assert len(fake_time.sleeps) == 1
    assert fake_time.sleeps[0] == pytest.approx(7 if retry_after == "7" else 30, abs=2)


def test_a_503_twice_is_retried_with_growing_delays_then_succeeds(api, fake_time):
    url = f"{INSEE}/siret/99100005000013"
    api.get(url, status=503)
    api.get(url, status=503)
    api.get(url, json=fixture("insee_etablissement.json"))

    establishment = insee_client(fake_time).establishment("99100005000013")

    assert establishment["siret"] == "99100005000013"
    assert fake_time.sleeps == [2.0, 4.0]
    assert len(api.calls) == 3


def test_network_errors_are_retried(api, fake_time):
    url = f"{INSEE}/siret/99100005000013"
    api.get(url, body=requests.ConnectionError("connexion refusée"))
    api.get(url, body=requests.Timeout("délai dépassé"))
    api.get(url, json=fixture("insee_etablissement.json"))

    assert insee_client(fake_time).establishment("99100005000013") is not None
    assert fake_time.sleeps == [2.0, 4.0]


@pytest.mark.parametrize(
    ("status", "error_class", "outcome"),
    [(503, SireneAPIError, "HTTP 503"), (429, SireneRateLimited, "HTTP 429, quota dépassé")],
)
def test_the_client_gives_up_after_its_attempts_with_a_clear_error(
    api, fake_time, status, error_class, outcome
):
    api.get(f"{INSEE}/siret/99100005000013", status=status)

    with pytest.raises(error_class) as raised:
        insee_client(fake_time, max_attempts=4).establishment("99100005000013")

    assert str(raised.value) == (
        "L'API Sirene de l'INSEE ne répond pas (/siret/99100005000013) : abandon après 4 tentative(s), "
        f"dernière réponse : {outcome}."
    )
    assert len(api.calls) == 4
    assert fake_time.sleeps == [2.0, 4.0, 8.0]


def test_a_retry_after_longer_than_the_client_may_wait_gives_up_at_once(api, fake_time):
    api.get(f"{INSEE}/siret/99100005000013", status=429, headers={"Retry-After": "3600"})

    with pytest.raises(SireneRateLimited, match="abandon après 1 tentative"):
        insee_client(fake_time, max_wait=300).establishment("99100005000013")
    assert fake_time.sleeps == []


def test_a_refused_key_is_not_retried(api, fake_time):
    api.get(f"{INSEE}/siret/99100005000013", status=401, json={"message": "Invalid key"})

    with pytest.raises(SireneAPIError, match="refuse l'accès \\(HTTP 401\\) : vérifiez la clé") as raised:
        insee_client(fake_time).establishment("99100005000013")
    assert "INSEE_API_KEY" in str(raised.value)
    assert len(api.calls) == 1


def test_a_page_that_fails_stops_the_sync_and_keeps_the_pages_already_stored(api, fake_time):
    serve_no_legal_unit(api)
    api.get(
        f"{INSEE}/siret",
        json=fixture("insee_siret_page1.json"),
        match=[search_matcher("dateDernierTraitementEtablissement", "*")],
    )
    api.get(
        f"{INSEE}/siret",
        status=503,
        match=[search_matcher("dateDernierTraitementEtablissement", CURSORS[1])],
    )

    with pytest.raises(sync.SyncInterrupted) as raised:
        sync.sync_from_insee(since=SINCE, client=insee_client(fake_time, max_attempts=2))

    assert "Établissements : 2 créés, 0 mis à jour." in str(raised.value)
    assert set(Establishment.objects.values_list("siret", flat=True)) == {"21750001600019", "21750001601488"}
    assert cache.get(sync.SYNC_LOCK_KEY) is None


def test_two_syncs_never_run_at_once(api, fake_time):
    cache.add(sync.SYNC_LOCK_KEY, "2024-03-15T03:30:00+01:00")

    with pytest.raises(sync.SyncAlreadyRunning, match="déjà en cours"):
        sync.sync_from_insee(since=SINCE, client=insee_client(fake_time))
    assert len(api.calls) == 0


@pytest.mark.parametrize(
    ("commune_code", "departement"),
    [
        ("75104", "75"),
        ("2A004", "2A"),
        ("2B033", "2B"),
        ("97101", "971"),
        ("97411", "974"),
        ("98735", "987"),
        (None, ""),
    ],
)
def test_the_departement_comes_from_the_commune_code(commune_code, departement):
    data = fixture("insee_etablissement.json")["etablissement"]
    data["adresseEtablissement"]["codeCommuneEtablissement"] = commune_code

    assert establishment_from_insee(data)["departement"] == departement


# The command and the task ---------------------------------------------------------------------


def test_the_command_syncs_and_prints_its_counts(api):
    serve_no_legal_unit(api)
    serve_establishment_pages(api)
    out = StringIO()

    call_command("sync_sirene", "--since", "2024-03-14", stdout=out)

    assert out.getvalue().splitlines() == [
        "Synchronisation SIRENE : changements traités par l'INSEE depuis le 14/03/2024.",
        "Unités légales : 5 créées, 0 mises à jour.",
        "Établissements : 6 créés, 0 mis à jour.",
        "Pages lues : 3 ; établissements réindexés pour la recherche : 6.",
    ]


def test_the_command_shows_each_page_when_asked(api):
    serve_no_legal_unit(api)
    serve_establishment_pages(api)
    out = StringIO()

    call_command("sync_sirene", "--since", "2024-03-14", verbosity=2, stdout=out)

    assert "  page 3 : 6 établissements enregistrés" in out.getvalue()


def test_by_default_the_command_starts_from_the_paris_day_of_the_latest_change(api):
    # 23:30 UTC on 14 March is 00:30 on 15 March in Paris.
    EstablishmentFactory(last_processed_at=datetime(2024, 3, 14, 23, 30, tzinfo=UTC))
    EstablishmentFactory(last_processed_at=datetime(2024, 2, 1, 12, 0, tzinfo=UTC))
    serve_no_legal_unit(api, since=date(2024, 3, 15))
    serve_establishment_pages(api, since=date(2024, 3, 15))
    out = StringIO()

    call_command("sync_sirene", stdout=out)

    assert "depuis le 15/03/2024" in out.getvalue()
    assert len(api.calls) == 4


def test_with_an_empty_mirror_the_command_starts_from_yesterday(api):
    yesterday = timezone.localdate() - timedelta(days=1)
    serve_no_legal_unit(api, since=yesterday)
    api.get(
        f"{INSEE}/siret",
        status=404,
        match=[search_matcher("dateDernierTraitementEtablissement", "*", yesterday)],
    )
    out = StringIO()

    call_command("sync_sirene", stdout=out)

    assert f"depuis le {yesterday:%d/%m/%Y}" in out.getvalue()
    assert len(api.calls) == 2


def test_without_a_key_the_command_stops_with_a_clear_message(api, settings):
    settings.INSEE_API_KEY = ""

    with pytest.raises(CommandError, match="La variable d'environnement INSEE_API_KEY n'est pas définie"):
        call_command("sync_sirene", stdout=StringIO())
    assert len(api.calls) == 0


def test_when_the_api_refuses_the_command_says_how_to_resume(api):
    api.get(f"{INSEE}/siren", status=401)

    with pytest.raises(CommandError) as raised:
        call_command("sync_sirene", "--since", "2024-03-14", stdout=StringIO())

    assert "refuse l'accès (HTTP 401)" in str(raised.value)
    assert str(raised.value).endswith("Pour reprendre : manage.py sync_sirene --since 2024-03-14")


def test_a_malformed_since_is_refused():
    with pytest.raises(CommandError, match="--since attend une date AAAA-MM-JJ, pas '14/03/2024'"):
        call_command("sync_sirene", "--since", "14/03/2024", stdout=StringIO())


def test_the_task_runs_the_sync_and_beat_runs_it_every_night(api, settings):
    serve_no_legal_unit(api)
    serve_establishment_pages(api)

    result = sync_sirene.delay(since="2024-03-14").get()

    assert result["establishments_created"] == 6
    assert result["since"] == "2024-03-14"
    entry = settings.CELERY_BEAT_SCHEDULE["sync-sirene"]
    assert entry["task"] == "organisations.tasks.sync_sirene"
    assert entry["schedule"] == crontab(hour=3, minute=30)
    assert settings.CELERY_TIMEZONE == "Europe/Paris"


def test_the_task_does_nothing_without_a_key(api, settings, caplog):
    settings.INSEE_API_KEY = ""

    assert sync_sirene.delay().get() is None
    assert "INSEE_API_KEY n'est pas définie" in caplog.text
    assert len(api.calls) == 0


def test_a_failed_task_is_retried_from_the_same_day(monkeypatch):
    tried = []

    def failing_sync(*, since):
        tried.append(since)
        raise SireneAPIError("L'API Sirene de l'INSEE ne répond pas.")

    monkeypatch.setattr(sync, "sync_from_insee", failing_sync)
    EstablishmentFactory(last_processed_at=datetime(2024, 3, 14, 12, 0, tzinfo=PARIS))

    with pytest.raises(Retry) as raised:
        sync_sirene.delay()

    assert tried == [date(2024, 3, 14)]
    # The retry reads from the same day, even if rows stored meanwhile moved the mirror's mark.
    assert raised.value.sig.kwargs == {"since": "2024-03-14"}
    assert raised.value.when == 30 * 60
