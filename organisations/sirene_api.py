"""Clients of the INSEE API Sirene 3.11 and of the API Recherche d'entreprises.

Both are slow and rate-limited (DESIGN §7): they feed the local mirror, they never sit behind a
search. The INSEE API (key in the header X-INSEE-Api-Key-Integration, 30 requests a minute on the
public plan) serves the daily sync and the live fetch of a missing number; the API Recherche
d'entreprises (no key, 7 requests a second per IP) is the live fetch's fallback.

The functions at the end turn their JSON into LegalUnit / Establishment field values.
"""

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.utils import timezone

from organisations.models import Establishment, LegalUnit
from organisations.referentials import departement_of_commune
from portal import ratelimit

logger = logging.getLogger(__name__)

PAGE_SIZE = 1000  # the largest page the INSEE API serves
# INSEE counts 30 a minute; one less leaves room for the jitter of the network.
INSEE_REQUESTS_PER_MINUTE = 29
RECHERCHE_ENTREPRISES_REQUESTS_PER_SECOND = 7
# INSEE calls the live fetch may make in a minute, all web processes together: typed numbers
# cannot spend the whole quota.
LIVE_INSEE_REQUESTS_PER_MINUTE = 25
# What INSEE writes in place of a value withheld from a non-diffusible unit or establishment.
NOT_DIFFUSED = "[ND]"
# INSEE's dates are Paris local times without an offset.
INSEE_TIME_ZONE = ZoneInfo("Europe/Paris")
USER_AGENT = "portail-partenaires (registre des organisations)"


class SireneAPIError(Exception):
    """An API gave no usable answer, retries included. The message says which and why, in French."""


class SireneRateLimited(SireneAPIError):
    """A quota is spent: the API's (HTTP 429) or the portal's own cap on live fetches."""


class QuotaExceeded(SireneRateLimited):
    """The portal's own cap on live calls (SharedQuota) is reached: no request was sent."""


class RequestPacer:
    """At most `limit` requests in any `period` seconds: waits before a request that would exceed.

    Remembers when the last `limit` requests left; the clock and the sleep are injected so that
    tests run instantly.
    """

    def __init__(
        self,
        *,
        limit: int,
        period: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.limit = limit
        self.period = period
        self.clock = clock
        self.sleep = sleep
        self._sent: deque[float] = deque(maxlen=limit)

    def wait(self) -> None:
        if len(self._sent) == self.limit:
            delay = self._sent[0] + self.period - self.clock()
            if delay > 0:
                self.sleep(delay)
        self._sent.append(self.clock())


class SharedQuota:
    """A cap shared by every process (portal.ratelimit, in Redis): refuses instead of waiting.

    The live fetch runs inside a web request: past the cap it gives up at once and the search
    answers from the mirror.
    """

    def __init__(self, *, scope: str, limit: int, window: int, api_name: str):
        self.scope = scope
        self.limit = limit
        self.window = window
        self.api_name = api_name

    def wait(self) -> None:
        if not ratelimit.allow(self.scope, "all", limit=self.limit, window=self.window):
            raise QuotaExceeded(
                f"{self.api_name} : plafond du portail atteint ({self.limit} requêtes par {self.window} s)."
            )


class _JsonClient:
    """GET with pacing, and retries with exponential backoff on 429, 5xx and network errors."""

    api_name = ""
    access_hint = ""  # what to check when the API answers 401 or 403

    def __init__(
        self,
        *,
        base_url: str,
        timeout: float | tuple[float, float],
        pacer: RequestPacer | SharedQuota | None = None,
        max_attempts: int = 6,
        backoff: float = 2.0,
        max_wait: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.pacer = pacer
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.session = session or requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})

    def get_json(self, path: str, params: dict | None = None) -> dict | None:
        """The decoded answer, or None when the API answers 404 (nothing matches)."""
        url = f"{self.base_url}{path}"
        for attempt in range(1, self.max_attempts + 1):
            if self.pacer is not None:
                self.pacer.wait()
            try:
                response = self.session.get(url, params=params, timeout=self.timeout)
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as error:
                status, outcome, delay = None, type(error).__name__, self._backoff(attempt)
            else:
                status = response.status_code
                if status == 200:
                    return self._decode(response, path)
                if status == 404:
                    return None
                if status == 429:
                    outcome = "HTTP 429, quota dépassé"
                    delay = _retry_after(response)
                    delay = self._backoff(attempt) if delay is None else delay
                elif status >= 500:
                    outcome, delay = f"HTTP {status}", self._backoff(attempt)
                else:
                    raise SireneAPIError(self._refusal(status, response, path))
            if attempt == self.max_attempts or delay > self.max_wait:
                break
            logger.warning("%s %s : %s, nouvel essai dans %.1f s.", self.api_name, path, outcome, delay)
            self.sleep(delay)
        error_class = SireneRateLimited if status == 429 else SireneAPIError
        raise error_class(
            f"{self.api_name} ne répond pas ({path}) : abandon après {attempt} tentative(s), "
            f"dernière réponse : {outcome}."
        )

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff * 2 ** (attempt - 1), self.max_wait)

    def _decode(self, response: requests.Response, path: str) -> dict:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise SireneAPIError(f"{self.api_name} a renvoyé une réponse illisible ({path}).")
        return payload

    def _refusal(self, status: int, response: requests.Response, path: str) -> str:
        if status in {401, 403}:
            return f"{self.api_name} refuse l'accès (HTTP {status}){self.access_hint}."
        return f"{self.api_name} refuse la requête {path} (HTTP {status}) : {response.text[:200]}"


def _retry_after(response: requests.Response) -> float | None:
    """Retry-After in seconds, whether given as a number or as an HTTP date."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - timezone.now()).total_seconds(), 0.0)


class InseeClient(_JsonClient):
    """API Sirene 3.11: /siret and /siren, by number or by a Lucene-style query with a cursor."""

    api_name = "L'API Sirene de l'INSEE"
    access_hint = (
        " : vérifiez la clé d'API (variable d'environnement INSEE_API_KEY) et son abonnement à l'API Sirene"
    )

    def __init__(self, *, api_key: str, **options):
        options.setdefault("base_url", settings.INSEE_API_URL)
        super().__init__(**options)
        self.session.headers["X-INSEE-Api-Key-Integration"] = api_key

    @classmethod
    def for_sync(cls, **options) -> "InseeClient":
        """The nightly client: paced under the quota, patient with a struggling API."""
        options.setdefault("timeout", (5, settings.SIRENE_SYNC_TIMEOUT))
        options.setdefault("pacer", RequestPacer(limit=INSEE_REQUESTS_PER_MINUTE, period=60))
        return cls(api_key=settings.INSEE_API_KEY, **options)

    @classmethod
    def for_live_fetch(cls) -> "InseeClient":
        """Inside a web request: one attempt, a short timeout, under the portal-wide cap."""
        quota = SharedQuota(
            scope="insee-live", limit=LIVE_INSEE_REQUESTS_PER_MINUTE, window=60, api_name=cls.api_name
        )
        return cls(
            api_key=settings.INSEE_API_KEY,
            timeout=(3, settings.SIRENE_LIVE_TIMEOUT),
            pacer=quota,
            max_attempts=1,
        )

    def establishment_pages(self, *, since: date) -> Iterator[list[dict]]:
        """Every establishment INSEE processed since that day (included), a page at a time."""
        query = f"dateDernierTraitementEtablissement:[{since.isoformat()} TO *]"
        return self._pages("/siret", "etablissements", query)

    def legal_unit_pages(self, *, since: date) -> Iterator[list[dict]]:
        """Every legal unit INSEE processed since that day (included), a page at a time."""
        query = f"dateDernierTraitementUniteLegale:[{since.isoformat()} TO *]"
        return self._pages("/siren", "unitesLegales", query)

    def establishment(self, siret: str) -> dict | None:
        payload = self.get_json(f"/siret/{siret}")
        return payload.get("etablissement") if payload else None

    def legal_unit(self, siren: str) -> dict | None:
        payload = self.get_json(f"/siren/{siren}")
        return payload.get("uniteLegale") if payload else None

    def _pages(self, path: str, key: str, query: str) -> Iterator[list[dict]]:
        # Cursor pagination: curseur=* first, then header.curseurSuivant until it comes back
        # unchanged. INSEE answers 404 when nothing (more) matches.
        cursor = "*"
        while True:
            payload = self.get_json(path, {"q": query, "nombre": PAGE_SIZE, "curseur": cursor})
            if payload is None:
                return
            items = payload.get(key) or []
            if items:
                yield items
            next_cursor = (payload.get("header") or {}).get("curseurSuivant")
            if not items or not next_cursor or next_cursor == cursor:
                return
            cursor = next_cursor


class RechercheEntreprisesClient(_JsonClient):
    """API Recherche d'entreprises: GET /search?q=<SIREN or SIRET> (a direct lookup)."""

    api_name = "L'API Recherche d'entreprises"

    @classmethod
    def for_live_fetch(cls) -> "RechercheEntreprisesClient":
        quota = SharedQuota(
            scope="recherche-entreprises-live",
            limit=RECHERCHE_ENTREPRISES_REQUESTS_PER_SECOND,
            window=1,
            api_name=cls.api_name,
        )
        return cls(
            base_url=settings.RECHERCHE_ENTREPRISES_URL,
            timeout=(3, settings.SIRENE_LIVE_TIMEOUT),
            pacer=quota,
            max_attempts=1,
        )

    def find(self, number: str) -> dict | None:
        """The result (one legal unit with its head office) for a SIREN or a SIRET, or None."""
        payload = self.get_json("/search", {"q": number})
        for result in (payload or {}).get("results") or []:
            if result.get("siren") == number[:9]:
                return result
        return None


# Mapping -----------------------------------------------------------------------------------------


def _text(value) -> str:
    if value is None:
        return ""
    value = str(value).strip()
    return "" if value == NOT_DIFFUSED else value


def _fit(model, values: dict) -> dict:
    """Cut text to the columns' lengths: one over-long label must not stop a whole page."""
    for name, value in values.items():
        max_length = getattr(model._meta.get_field(name), "max_length", None)
        if max_length and isinstance(value, str) and len(value) > max_length:
            values[name] = value[:max_length]
    return values


def parse_insee_datetime(value) -> datetime | None:
    """INSEE's "2024-03-15T10:20:30.000" (Paris time) as an aware datetime; None when absent."""
    text = _text(value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=INSEE_TIME_ZONE)
    return parsed


def _current_period(periods) -> dict:
    # INSEE lists the periods newest first; the current one has no end date.
    periods = periods or []
    return next((period for period in periods if not period.get("dateFin")), periods[0] if periods else {})


def legal_unit_from_insee(unit: dict, *, siren: str = "") -> dict:
    """LegalUnit values from an INSEE uniteLegale: the block inside an establishment (current
    values, flat) or the answer of /siren (historised values in periodesUniteLegale)."""
    values = {**unit, **_current_period(unit.get("periodesUniteLegale"))}
    denomination = _text(values.get("denominationUniteLegale"))
    if not denomination:  # a natural person: first name and (usage) surname
        surname = _text(values.get("nomUsageUniteLegale")) or _text(values.get("nomUniteLegale"))
        first_name = _text(values.get("prenomUsuelUniteLegale")) or _text(values.get("prenom1UniteLegale"))
        denomination = " ".join(part for part in (first_name, surname) if part)
    return _fit(
        LegalUnit,
        {
            "siren": _text(unit.get("siren")) or siren,
            "denomination": denomination,
            "sigle": _text(values.get("sigleUniteLegale")),
            "legal_category": _text(values.get("categorieJuridiqueUniteLegale")),
            "nic_siege": _text(values.get("nicSiegeUniteLegale")),
            "is_active": _text(values.get("etatAdministratifUniteLegale")) != "C",
            "last_processed_at": parse_insee_datetime(values.get("dateDernierTraitementUniteLegale")),
        },
    )


def establishment_from_insee(data: dict) -> dict:
    """Establishment values from an INSEE etablissement (/siret, /siret/{siret})."""
    address = data.get("adresseEtablissement") or {}
    period = _current_period(data.get("periodesEtablissement"))
    commune_code = _text(address.get("codeCommuneEtablissement"))
    siret = _text(data.get("siret"))
    return _fit(
        Establishment,
        {
            "siret": siret,
            "legal_unit_id": _text(data.get("siren")) or siret[:9],
            "is_siege": bool(data.get("etablissementSiege")),
            "is_active": _text(period.get("etatAdministratifEtablissement")) != "F",
            # Only O is public: P (opposition) and anything unknown stay hidden.
            "is_diffusible": _text(data.get("statutDiffusionEtablissement")) == "O",
            "name": _text(period.get("enseigne1Etablissement"))
            or _text(period.get("denominationUsuelleEtablissement")),
            "street_number": _text(address.get("numeroVoieEtablissement")),
            "street_number_suffix": _text(address.get("indiceRepetitionEtablissement")),
            "street_type": _text(address.get("typeVoieEtablissement")),
            "street_name": _text(address.get("libelleVoieEtablissement")),
            "address_complement": _text(address.get("complementAdresseEtablissement")),
            "postal_code": _text(address.get("codePostalEtablissement")),
            "city": _text(address.get("libelleCommuneEtablissement"))
            or _text(address.get("libelleCommuneEtrangerEtablissement")),
            "commune_code": commune_code,
            "departement": departement_of_commune(commune_code),
            "cedex_code": _text(address.get("codeCedexEtablissement")),
            "cedex_label": _text(address.get("libelleCedexEtablissement")),
            "activity": _text(period.get("activitePrincipaleEtablissement")),
            "last_processed_at": parse_insee_datetime(data.get("dateDernierTraitementEtablissement")),
        },
    )


def legal_unit_from_recherche_entreprises(result: dict) -> dict:
    siege_siret = _text((result.get("siege") or {}).get("siret"))
    return _fit(
        LegalUnit,
        {
            "siren": _text(result.get("siren")),
            "denomination": _text(result.get("nom_raison_sociale"))
            or _text(result.get("nom_complet")).upper(),
            "sigle": _text(result.get("sigle")),
            "legal_category": _text(result.get("nature_juridique")),
            "nic_siege": siege_siret[9:],
            "is_active": _text(result.get("etat_administratif")) != "C",
            "last_processed_at": None,
        },
    )


def establishment_from_recherche_entreprises(data: dict, *, siren: str) -> dict:
    """Establishment values from a `siege` (address in parts) or one of the
    `matching_etablissements` (address in one string: kept whole as the street)."""
    commune_code = _text(data.get("commune"))
    postal_code = _text(data.get("code_postal"))
    city = _text(data.get("libelle_commune"))
    if "libelle_voie" in data:
        street = {
            "street_number": _text(data.get("numero_voie")),
            "street_number_suffix": _text(data.get("indice_repetition")),
            "street_type": _text(data.get("type_voie")),
            "street_name": _text(data.get("libelle_voie")),
            "address_complement": _text(data.get("complement_adresse")),
        }
    else:
        street_name = _text(data.get("adresse")).removesuffix(f" {postal_code} {city}".rstrip()).strip()
        street = {"street_name": street_name}
    enseignes = [_text(name) for name in data.get("liste_enseignes") or [] if _text(name)]
    return _fit(
        Establishment,
        {
            "siret": _text(data.get("siret")),
            "legal_unit_id": siren,
            "is_siege": bool(data.get("est_siege")),
            "is_active": _text(data.get("etat_administratif")) != "F",
            "is_diffusible": _text(data.get("statut_diffusion_etablissement")) == "O",
            "name": (enseignes[0] if enseignes else "") or _text(data.get("nom_commercial")),
            **street,
            "postal_code": postal_code,
            "city": city,
            "commune_code": commune_code,
            "departement": departement_of_commune(commune_code),
            "cedex_code": _text(data.get("cedex")),
            "cedex_label": _text(data.get("libelle_cedex")),
            "activity": _text(data.get("activite_principale")),
            "last_processed_at": None,
        },
    )
