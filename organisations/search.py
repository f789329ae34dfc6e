"""The one organisation search: used by the signup wizard, "Ajouter une structure" and the API.

Text search runs on a tsvector of normalised words (upper case, no accents, no punctuation) with
the 'simple' configuration, so it needs no PostgreSQL extension; every typed word must match the
beginning of a word ("comm paris" finds COMMUNE DE PARIS). Digits alone are a SIREN or a SIRET.
"""

import re
import unicodedata
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.postgres.search import SearchQuery
from django.core.paginator import Paginator
from django.db.models import F, Q, QuerySet, Value
from django.utils.translation import gettext as _
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siren as siren_number
from stdnum.fr import siret as siret_number

from organisations.models import Establishment

PER_PAGE = 10
_WORD = re.compile(r"[A-Z0-9]+")
_DIGITS = re.compile(r"[\d\s.]+")


def normalize_words(text: str) -> list[str]:
    """Upper case, accents and punctuation removed: "Œuvre d'Orléans" → ["OEUVRE", "D", "ORLEANS"]."""
    text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(char for char in decomposed if not unicodedata.combining(char)).upper()
    return _WORD.findall(ascii_text)


def search_text_for(*, name: str, denomination: str, sigle: str, city: str) -> str:
    words = []
    for part in (name, denomination, sigle, city):
        for word in normalize_words(part):
            if word not in words:
                words.append(word)
    return " ".join(words)


@dataclass
class SearchResults:
    page: object = None  # a django.core.paginator.Page of Establishment
    total: int = 0
    error: str = ""  # a message for the user, next to the search field
    kind: str = "text"  # text, siren or siret
    notes: list[str] = field(default_factory=list)


def _visible() -> QuerySet:
    return Establishment.objects.filter(is_diffusible=True).select_related("legal_unit")


def validate_identifier(digits: str) -> tuple[str, str]:
    """("siren" | "siret", the number) or raise ValueError with a French message."""
    if len(digits) == 9:
        try:
            return "siren", siren_number.validate(digits)
        except StdnumError:
            raise ValueError(_("Ce numéro SIREN n'est pas valide : vérifiez les 9 chiffres.")) from None
    if len(digits) == 14:
        try:
            return "siret", siret_number.validate(digits)
        except StdnumError:
            raise ValueError(_("Ce numéro SIRET n'est pas valide : vérifiez les 14 chiffres.")) from None
    raise ValueError(_("Un SIREN compte 9 chiffres et un SIRET 14 : vérifiez le numéro saisi."))


def search_establishments(
    *, query: str, postal_code: str = "", departement: str = "", page: int = 1
) -> SearchResults:
    query = (query or "").strip()
    results = SearchResults()
    if _DIGITS.fullmatch(query):
        digits = re.sub(r"\D", "", query)
        try:
            results.kind, number = validate_identifier(digits)
        except ValueError as error:
            results.error = str(error)
            return results
        if results.kind == "siret":
            queryset = _visible().filter(siret=number)
        else:
            queryset = _visible().filter(legal_unit_id=number)
        # A valid number the mirror lacks is fetched live and stored. When the APIs cannot answer,
        # the local results stand, with a note: never an error page.
        from organisations import sync  # here: sync imports the services, which import this module

        try:
            sync.fetch_missing(number)
        except Exception as error:
            results.notes.append(sync.unavailable_note(error))
    else:
        words = normalize_words(query)
        if not words:
            results.error = _("Saisissez le nom de l'organisme, son SIREN ou son SIRET.")
            return results
        raw = " & ".join(f"{word}:*" for word in words)
        queryset = _visible().filter(
            search_vector=SearchQuery(raw, search_type="raw", config=Value("simple"))
        )
    postal_code = (postal_code or "").strip()
    if postal_code:
        queryset = queryset.filter(Q(postal_code=postal_code) | Q(cedex_code=postal_code))
    if departement:
        queryset = queryset.filter(departement=departement.strip().upper())
    return _paginate(queryset, page, results)


def _paginate(queryset: QuerySet, page: int, results: SearchResults) -> SearchResults:
    queryset = queryset.order_by(F("is_active").desc(), F("is_siege").desc(), "name", "siret")
    paginator = Paginator(queryset, PER_PAGE)
    results.page = paginator.get_page(page)
    results.total = paginator.count
    return results


def search_by_client_number(typed: str, *, page: int = 1) -> SearchResults:
    """The establishment (or, for a SIREN, the organisation's establishments) of a client number."""
    from organisations.client_numbers import find_client_number

    results = SearchResults(kind="client_number")
    entry = find_client_number(typed)
    if entry is None:
        results.error = _(
            "Ce numéro client est inconnu : vérifiez-le, ou écrivez-nous à %(email)s en indiquant le nom et le SIREN de votre organisme."
        ) % {"email": settings.PORTAL_CONTACT_EMAIL}
        return results
    if entry.siret:
        queryset = _visible().filter(siret=entry.siret)
    else:
        queryset = _visible().filter(legal_unit_id=entry.siren)
    return _paginate(queryset, page, results)


def get_searchable(siret: str) -> Establishment | None:
    """The establishment with this SIRET if the search could show it, else None."""
    if not (siret or "").isdigit() or len(siret) != 14:
        return None
    return _visible().filter(siret=siret).first()
