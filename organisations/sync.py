"""Keep the SIRENE mirror current: the daily sync from the INSEE API, and the live fetch of a
SIREN or SIRET that a user typed but the mirror lacks."""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from organisations.models import Establishment, LegalUnit
from organisations.services import SIRENE_ESTABLISHMENT_FIELDS, SIRENE_LEGAL_UNIT_FIELDS, refresh_search_index
from organisations.sirene_api import (
    InseeClient,
    QuotaExceeded,
    RechercheEntreprisesClient,
    SireneAPIError,
    SireneRateLimited,
    establishment_from_insee,
    establishment_from_recherche_entreprises,
    legal_unit_from_insee,
    legal_unit_from_recherche_entreprises,
)

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
SYNC_LOCK_KEY = "sirene:sync-running"
SYNC_LOCK_SECONDS = 6 * 3600  # longer than any sync; frees the lock of a killed process
NOT_FOUND_SECONDS = 3600  # a number no API knows is not asked for again within the hour
API_DOWN_SECONDS = 60  # an API that failed is left alone this long: searches stay fast

# The sync also records when INSEE last processed each row (the next sync starts from there).
LEGAL_UNIT_FIELDS = [*SIRENE_LEGAL_UNIT_FIELDS, "last_processed_at"]
ESTABLISHMENT_FIELDS = [*SIRENE_ESTABLISHMENT_FIELDS, "last_processed_at"]


class SyncAlreadyRunning(Exception):
    pass


@dataclass
class SyncReport:
    since: date
    pages: int = 0
    legal_units_created: int = 0
    legal_units_updated: int = 0
    establishments_created: int = 0
    establishments_updated: int = 0
    indexed: int = 0

    def lines(self) -> list[str]:
        return [
            f"Unités légales : {self.legal_units_created} créées, {self.legal_units_updated} mises à jour.",
            f"Établissements : {self.establishments_created} créés, {self.establishments_updated} mis à jour.",
            f"Pages lues : {self.pages} ; établissements réindexés pour la recherche : {self.indexed}.",
        ]

    def as_dict(self) -> dict:
        return {**asdict(self), "since": self.since.isoformat()}


class SyncInterrupted(SireneAPIError):
    """The API gave up during a sync; the pages already received are stored."""

    def __init__(self, error: SireneAPIError, report: SyncReport):
        super().__init__(f"{error} Déjà enregistré : {' '.join(report.lines())}")
        self.report = report


# Writing to the mirror -------------------------------------------------------------------------


def upsert_legal_units(rows: list[dict]) -> tuple[int, int, set[str]]:
    """Insert or update legal units: (created, updated, SIRENs whose name or acronym changed)."""
    rows = list({row["siren"]: row for row in rows}.values())  # the last of a page wins
    existing = {
        siren: (denomination, sigle)
        for siren, denomination, sigle in LegalUnit.objects.filter(
            siren__in=[row["siren"] for row in rows]
        ).values_list("siren", "denomination", "sigle")
    }
    renamed = {
        row["siren"]
        for row in rows
        if row["siren"] in existing and existing[row["siren"]] != (row["denomination"], row["sigle"])
    }
    LegalUnit.objects.bulk_create(
        [LegalUnit(**row) for row in rows],
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["siren"],
        update_fields=LEGAL_UNIT_FIELDS,
    )
    return len(rows) - len(existing), len(existing), renamed


def upsert_establishments(rows: list[dict]) -> tuple[int, int]:
    """Insert or update establishments (not their search index): (created, updated)."""
    rows = list({row["siret"]: row for row in rows}.values())
    existing = Establishment.objects.filter(siret__in=[row["siret"] for row in rows]).count()
    Establishment.objects.bulk_create(
        [Establishment(**row) for row in rows],
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["siret"],
        update_fields=ESTABLISHMENT_FIELDS,
    )
    return len(rows) - existing, existing


def _establishments_of(sirens: set[str]) -> Iterator[str]:
    if not sirens:
        return iter(())
    return Establishment.objects.filter(legal_unit_id__in=sirens).values_list("siret", flat=True).iterator()


# The daily sync --------------------------------------------------------------------------------


def default_since() -> date:
    """The day of the latest change the mirror holds, else yesterday.

    The whole day is read again: changes INSEE processed that day after it are not missed, and
    those already stored are written identically.
    """
    latest = Establishment.objects.aggregate(latest=Max("last_processed_at"))["latest"]
    if latest is None:
        return timezone.localdate() - timedelta(days=1)
    return timezone.localtime(latest).date()


@contextmanager
def _one_sync_at_a_time():
    if not cache.add(SYNC_LOCK_KEY, timezone.now().isoformat(), timeout=SYNC_LOCK_SECONDS):
        raise SyncAlreadyRunning(
            f"Une synchronisation SIRENE est déjà en cours (depuis {cache.get(SYNC_LOCK_KEY)})."
        )
    try:
        yield
    finally:
        cache.delete(SYNC_LOCK_KEY)


def sync_from_insee(
    *,
    since: date,
    client: InseeClient | None = None,
    on_page: Callable[[SyncReport], None] | None = None,
) -> SyncReport:
    """Apply to the mirror every change INSEE processed since `since` (that day included).

    Legal units first (a renamed organisation changes the search words of every establishment it
    has), then establishments. Each page is committed with its search index: an interrupted run
    keeps what it stored, and running it again with the same day gives the same tables.
    """
    client = client or InseeClient.for_sync()
    report = SyncReport(since=since)
    with _one_sync_at_a_time():
        try:
            for items in client.legal_unit_pages(since=since):
                _apply_legal_unit_page(items, report)
                if on_page:
                    on_page(report)
            for items in client.establishment_pages(since=since):
                _apply_establishment_page(items, report)
                if on_page:
                    on_page(report)
        except SireneAPIError as error:
            raise SyncInterrupted(error, report) from error
    return report


@transaction.atomic
def _apply_legal_unit_page(items: list[dict], report: SyncReport) -> None:
    created, updated, renamed = upsert_legal_units([legal_unit_from_insee(item) for item in items])
    report.legal_units_created += created
    report.legal_units_updated += updated
    report.pages += 1
    if renamed:
        report.indexed += refresh_search_index(sirets=_establishments_of(renamed))


@transaction.atomic
def _apply_establishment_page(items: list[dict], report: SyncReport) -> None:
    units = [
        legal_unit_from_insee(item["uniteLegale"], siren=item.get("siren", ""))
        for item in items
        if item.get("uniteLegale")
    ]
    created, updated, renamed = upsert_legal_units(units)
    report.legal_units_created += created
    report.legal_units_updated += updated
    rows = [establishment_from_insee(item) for item in items]
    created, updated = upsert_establishments(rows)
    report.establishments_created += created
    report.establishments_updated += updated
    report.pages += 1
    sirets = {row["siret"] for row in rows}.union(_establishments_of(renamed))
    report.indexed += refresh_search_index(sirets=sirets)


# The live fetch --------------------------------------------------------------------------------


class SireneUnavailable(SireneAPIError):
    """No API could answer for a number the mirror lacks (down, or quota spent)."""

    def __init__(self, *, rate_limited: bool):
        super().__init__("Aucune API SIRENE n'a pu répondre.")
        self.rate_limited = rate_limited


def fetch_missing(number: str) -> bool:
    """Fetch a valid SIREN or SIRET the mirror lacks, then store and index it: True when stored.

    INSEE first when a key is set; else, or when INSEE fails or the portal's cap on live INSEE
    calls is reached, the API Recherche d'entreprises. A SIREN brings its legal unit and head
    office, a SIRET its establishment and legal unit. Only adds rows: the sync owns the others.
    Raises SireneUnavailable when no API could answer.
    """
    if not settings.SIRENE_LIVE_FETCH:
        return False
    lookup = {"siret": number} if len(number) == 14 else {"legal_unit_id": number}
    if cache.get(_not_found_key(number)) or Establishment.objects.filter(**lookup).exists():
        return False
    rate_limited = []
    for api, fetch in _live_sources():
        if failure := cache.get(_down_key(api)):
            rate_limited.append(failure == "rate-limited")
            continue
        try:
            found = fetch(number)
        except SireneAPIError as error:
            logger.warning("Recherche en ligne de %s : %s", number, error)
            rate_limited.append(isinstance(error, SireneRateLimited))
            if not isinstance(error, QuotaExceeded):  # our own cap frees itself
                failure = "rate-limited" if isinstance(error, SireneRateLimited) else "down"
                cache.set(_down_key(api), failure, API_DOWN_SECONDS)
            continue
        if found is None:
            cache.set(_not_found_key(number), True, NOT_FOUND_SECONDS)
            return False
        _store_live(*found)
        return True
    raise SireneUnavailable(rate_limited=all(rate_limited))


def unavailable_note(error: Exception) -> str:
    """The note shown with the local results when a live fetch could not answer."""
    if not isinstance(error, SireneAPIError):
        logger.error("Recherche en ligne d'un numéro SIRENE impossible.", exc_info=error)
    if isinstance(error, SireneUnavailable) and error.rate_limited:
        return _(
            "Le répertoire SIRENE ne répond pas pour le moment : trop de numéros y ont été recherchés "
            "ces dernières minutes. Réessayez dans une minute, ou recherchez votre organisme par son nom."
        )
    return _(
        "Le répertoire SIRENE ne répond pas pour le moment : ce numéro n'est pas encore dans notre "
        "copie du répertoire et n'a pas pu y être recherché. Réessayez dans quelques minutes, ou "
        "recherchez votre organisme par son nom."
    )


def _not_found_key(number: str) -> str:
    return f"sirene:live-not-found:{number}"


def _down_key(api: str) -> str:
    return f"sirene:live-down:{api}"


def _live_sources() -> list[tuple[str, Callable[[str], tuple[dict, list[dict]] | None]]]:
    sources = [("insee", _fetch_from_insee)] if settings.INSEE_API_KEY else []
    return [*sources, ("recherche-entreprises", _fetch_from_recherche_entreprises)]


def _fetch_from_insee(number: str) -> tuple[dict, list[dict]] | None:
    client = InseeClient.for_live_fetch()
    if len(number) == 14:
        data = client.establishment(number)
        if data is None:
            return None
        return legal_unit_from_insee(data.get("uniteLegale") or {}, siren=number[:9]), [
            establishment_from_insee(data)
        ]
    unit_data = client.legal_unit(number)
    if unit_data is None:
        return None
    unit = legal_unit_from_insee(unit_data, siren=number)
    head_office = client.establishment(number + unit["nic_siege"]) if unit["nic_siege"] else None
    return unit, [establishment_from_insee(head_office)] if head_office else []


def _fetch_from_recherche_entreprises(number: str) -> tuple[dict, list[dict]] | None:
    result = RechercheEntreprisesClient.for_live_fetch().find(number)
    if result is None:
        return None
    siren = result["siren"]
    siege = result.get("siege") or {}
    establishments = (
        [establishment_from_recherche_entreprises(siege, siren=siren)] if siege.get("siret") else []
    )
    if len(number) == 14 and siege.get("siret") != number:
        matching = [
            item for item in result.get("matching_etablissements") or [] if item.get("siret") == number
        ]
        if not matching:
            return None
        establishments.append(establishment_from_recherche_entreprises(matching[0], siren=siren))
    return legal_unit_from_recherche_entreprises(result), establishments


@transaction.atomic
def _store_live(unit: dict, establishments: list[dict]) -> None:
    for row in (unit, *establishments):
        # The sync starts from the latest processing date the mirror holds: a row fetched today
        # must not move that mark past changes the sync has not read yet.
        row["last_processed_at"] = None
    LegalUnit.objects.bulk_create([LegalUnit(**unit)], ignore_conflicts=True)
    Establishment.objects.bulk_create([Establishment(**row) for row in establishments], ignore_conflicts=True)
    refresh_search_index(sirets=[row["siret"] for row in establishments])
