"""The one organisation search: used by the signup wizard, "Ajouter une structure" and the API.

Text search runs on a tsvector of normalised words (no accents, no punctuation, lower case) with
the 'simple' configuration, so it needs no PostgreSQL extension; every typed word must match the
beginning of a word ("comm paris" finds COMMUNE DE PARIS). Digits alone are a SIREN or a SIRET.

Results come in RESULT_ORDER, which an index serves: a query matching half the register reads its
first page from that index instead of sorting every match. Counts stop at COUNT_LIMIT ("plus de
1 000 organismes"): nobody reads further, and counting millions of matches would cost seconds.
"""

import re
import unicodedata
from dataclasses import dataclass, field

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import BooleanField, F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siren as siren_number
from stdnum.fr import siret as siret_number

from organisations.models import Establishment, SearchWord

PER_PAGE = 10
COUNT_LIMIT = 1000
MAX_PAGES = COUNT_LIMIT // PER_PAGE
# Open before closed, head offices first, then by SIRET (org_establishment_order_idx).
RESULT_ORDER = (F("is_active").desc(), F("is_siege").desc(), "siret")
# Words that tell nothing of an organisation: link words, and one letter (the D of D'ORLEANS).
# They are not in the search vectors, and typed beside other words they are left out.
LINK_WORDS = frozenset("au aux de des du en et la le les sur".split())
UNSEARCHED_WORDS = LINK_WORDS | frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
PREFIX_WORDS = 20
POSTAL_CODE_LEXEME = "cp="
_WORD = re.compile(r"[A-Z0-9]+")
_DIGITS = re.compile(r"[0-9\s.]+")  # 552 100 554 typed with spaces (non-breaking ones too)


def normalize_words(text: str) -> list[str]:
    """Upper case, accents and punctuation removed: "Œuvre d'Orléans" → ["OEUVRE", "D", "ORLEANS"]."""
    text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(char for char in decomposed if not unicodedata.combining(char)).upper()
    return _WORD.findall(ascii_text)


def search_words(
    *, name: str, denomination: str, sigle: str, city: str, postal_code: str = "", cedex_code: str = ""
) -> list[str]:
    """The lexemes of an establishment's search_vector: the words of its own name, its legal unit's
    denomination and acronym, and its town, each once, in lower case, but UNSEARCHED_WORDS; its postal and CEDEX
    codes as "cp=…", which no typed word can be (the importer computes the same in SQL)."""
    words = {word.lower() for part in (name, denomination, sigle, city) for word in normalize_words(part)}
    words -= UNSEARCHED_WORDS
    words |= {f"{POSTAL_CODE_LEXEME}{code}" for code in (postal_code, cedex_code) if code}
    return sorted(words)


def text_query(text: str, *, postal_code: str = "") -> str | None:
    """The tsquery of what a user typed: "" when nothing in it is searchable, None when one of its
    words begins no word of the register (nothing can match).

    Every word is a prefix, read as the words of the register it begins ("comm" → 'commerce' |
    'commune'…): exact lexemes let the GIN index skip through its lists, where a prefix scan would
    collect every match of every word it begins. A prefix beginning more than PREFIX_WORDS words
    stays a prefix. UNSEARCHED_WORDS are left out when other words remain ("commune de paris").
    """
    words = list(dict.fromkeys(word.lower() for word in normalize_words(text)))
    words = [word for word in words if word not in UNSEARCHED_WORDS] or words
    if not words:
        return ""
    expansions = _words_beginning_with(words)
    terms = []
    for word in words:
        if expansions[word] is None:
            terms.append(f"'{word}':*")
        elif not expansions[word]:
            return None
        else:
            terms.append("(" + " | ".join(f"'{lexeme}'" for lexeme in expansions[word]) + ")")
    if postal_code:
        terms.append(f"'{POSTAL_CODE_LEXEME}{postal_code}'")
    return " & ".join(terms)


def _words_beginning_with(prefixes: list[str]) -> dict[str, list[str] | None]:
    """For each prefix, the register's words it begins (None when more than PREFIX_WORDS do)."""
    table = SearchWord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT prefix, ARRAY(SELECT word FROM {table} WHERE word >= prefix AND word < prefix || '{{' "  # noqa: S608 (the model's table)
            "ORDER BY word LIMIT %s) FROM unnest(%s::text[]) AS prefix",
            [PREFIX_WORDS + 1, prefixes],
        )
        return {prefix: words if len(words) <= PREFIX_WORDS else None for prefix, words in cursor.fetchall()}


@dataclass
class SearchResults:
    page: Page | None = None  # Establishments, with their legal units
    total: int = 0  # at most COUNT_LIMIT
    total_is_exact: bool = True  # False when more than COUNT_LIMIT match
    error: str = ""  # a message for the user, next to the search field
    kind: str = "text"  # text, siren, siret or client_number
    notes: list[str] = field(default_factory=list)

    @property
    def page_numbers(self) -> list:
        """Page links, elided around the current page ("1 … 4 5 6 … 100")."""
        if self.page is None:
            return []
        return list(self.page.paginator.get_elided_page_range(self.page.number, on_each_side=2, on_ends=1))


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
    number = ""
    if _DIGITS.fullmatch(query):
        digits = re.sub(r"[^0-9]", "", query)
        try:
            results.kind, number = validate_identifier(digits)
        except ValueError as error:
            results.error = str(error)
            return results
        if results.kind == "siret":
            queryset = _visible().filter(siret=number)
        else:
            queryset = _visible().filter(legal_unit_id=number)
        postal_code = (postal_code or "").strip()
        if postal_code:
            queryset = queryset.filter(Q(postal_code=postal_code) | Q(cedex_code=postal_code))
    else:
        postal_code = re.sub(r"[^0-9]", "", postal_code or "")  # digits only: it goes into the tsquery
        lexemes = text_query(query, postal_code=postal_code)
        if lexemes == "":
            results.error = _("Saisissez le nom de l'organisme, son SIREN ou son SIRET.")
            return results
        if lexemes is None:  # a word that begins no word of the register
            return _paginate(Establishment.objects.none(), page, results)
        return _paginate_text(lexemes, departement, page, results)
    if departement:
        queryset = queryset.filter(departement=departement.strip().upper())
    _paginate(queryset, page, results)
    if number and not results.total:
        # A valid number the mirror lacks is fetched live and stored. When the APIs cannot answer,
        # the local results stand, with a note: never an error page.
        from organisations import sync  # here: sync imports the services, which import this module

        try:
            if sync.fetch_missing(number):
                _paginate(queryset, page, results)
        except Exception as error:
            results.notes.append(sync.unavailable_note(error))
    return results


def _page_number(number) -> int:
    try:
        return min(max(int(number), 1), MAX_PAGES)
    except (TypeError, ValueError):
        return 1


def _matching(lexemes: str, function: str = "search_vector @@ %s::tsquery") -> RawSQL:
    # A cast, not to_tsquery: the lexemes are normalised already, and "cp=…" must stay whole.
    return RawSQL(function, [lexemes], output_field=BooleanField())  # noqa: S611 (fixed SQL, a parameter)


def _paginate_text(lexemes: str, departement: str, number, results: SearchResults) -> SearchResults:
    """A page of a text search, in RESULT_ORDER, whatever the planner's guess at the number of matches.

    First, the matches through the GIN index, up to COUNT_LIMIT + 1: when there are no more, they are
    sorted here and the page's rows fetched by SIRET. Beyond, matches are dense (one row in at most
    a few thousand of the register): the page is read from the order index, testing each row, which
    stops as soon as the page is full. The test is then written as a function call, which the
    planner cannot send to the GIN index (it would collect every match before sorting them).
    """
    number = _page_number(number)
    where = {"is_diffusible": True} | ({"departement": departement.strip().upper()} if departement else {})
    matches = Establishment.objects.filter(_matching(lexemes), **where)
    found = list(matches.values_list("siret", "is_active", "is_siege")[: COUNT_LIMIT + 1])
    if len(found) <= COUNT_LIMIT:
        results.total, results.total_is_exact = len(found), True
        number = min(number, max(1, (len(found) - 1) // PER_PAGE + 1))
        found.sort(key=lambda match: (not match[1], not match[2], match[0]))
        sirets = [siret for siret, _active, _siege in found[(number - 1) * PER_PAGE : number * PER_PAGE]]
        by_siret = _visible().in_bulk(sirets)
        rows = [by_siret[siret] for siret in sirets if siret in by_siret]
    else:
        results.total, results.total_is_exact = COUNT_LIMIT, False
        dense = _visible().filter(_matching(lexemes, "ts_match_vq(search_vector, %s::tsquery)"), **where)
        rows = list(dense.order_by(*RESULT_ORDER)[(number - 1) * PER_PAGE : number * PER_PAGE])
    paginator = Paginator(Establishment.objects.none(), PER_PAGE)
    paginator.count = results.total  # known: the paginator must not count
    results.page = Page(rows, number, paginator)
    return results


def _paginate(queryset: QuerySet, number, results: SearchResults) -> SearchResults:
    """One page of results, read with one more row than shown: a short first page needs no count."""
    queryset = queryset.order_by(*RESULT_ORDER)
    number = _page_number(number)
    offset = (number - 1) * PER_PAGE
    rows = list(queryset[offset : offset + PER_PAGE + 1])
    if len(rows) > PER_PAGE or (not rows and number > 1):
        matches = queryset.order_by().select_related(None)[: COUNT_LIMIT + 1].count()
        results.total, results.total_is_exact = min(matches, COUNT_LIMIT), matches <= COUNT_LIMIT
        if not rows and matches:  # past the last page: show the last one
            number = (results.total - 1) // PER_PAGE + 1
            offset = (number - 1) * PER_PAGE
            rows = list(queryset[offset : offset + PER_PAGE])
    else:
        results.total, results.total_is_exact = offset + len(rows), True
    paginator = Paginator(queryset, PER_PAGE)
    paginator.count = results.total  # known: the paginator must not count
    results.page = Page(rows[:PER_PAGE], number, paginator)
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
    if not (siret or "").isascii() or not siret.isdigit() or len(siret) != 14:
        return None
    return _visible().filter(siret=siret).first()
