"""Import of the SIRENE stock files (StockUniteLegale, StockEtablissement) into the mirror.

1. Each file (the CSV, or the ZIP holding it, decompressed while read) streams untouched into
   PostgreSQL's COPY, whose CSV parser fills an unlogged load table. The header line, read here,
   says which load column holds which SIRENE column: columns are found by name, never by position.
2. SQL turns the load table into a staging copy of the live table (CREATE TABLE … LIKE): types,
   the options' filters, the département, and the search words, computed with core functions only
   (``sql_normalize`` is the twin of organisations.search.normalize_words).
3. The staging table gets the live table's indexes, then one short transaction puts it in place
   of the live table, keeping the rows that memberships point at. Search answers from the live
   tables until then, and a failed import leaves them untouched.

Outside a transaction, steps 2 and 3 run on several connections at once (PostgreSQL then works on
several cores), and the legal units are prepared while the establishments file streams in.
"""

# ruff: noqa: S608 (the SQL is assembled from fixed fragments: table names from the models, load
# columns named c0…cN here; no value from the files is ever spliced into it)

import csv
import os
import re
import threading
import time
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import DataError, IntegrityError, OperationalError, connection, models, transaction
from django.utils.translation import gettext as _

from organisations.models import Establishment, LegalUnit, SearchWord
from organisations.search import POSTAL_CODE_LEXEME, UNSEARCHED_WORDS

CHUNK_BYTES = 1 << 20
LOCK_KEY = 7_402_110_001  # pg_try_advisory_lock key: one import at a time
MAX_WORKERS = 4
# Hash joins over the whole tables: estimates on computed columns (the cleaned SIRET) are guesses,
# and a nested loop chosen on a bad one would take hours.
SESSION_SETTINGS = (
    "SET work_mem = '256MB'",
    "SET maintenance_work_mem = '512MB'",
    "SET enable_nestloop = off",
    # The import runs its index builds side by side on its own connections, one core each.
    "SET max_parallel_maintenance_workers = 0",
)
SWAP_LOCK_TIMEOUT = "5s"
SWAP_ATTEMPTS = 12
UNIT_WORDS = "organisations_import_unit_words"
CITY_WORDS = "organisations_import_city_words"


class SireneImportError(Exception):
    """What stops an import; the message, in French, is for the operator."""


@dataclass(frozen=True)
class StockFile:
    """One of the two stock files: the header names it must have, and the tables it goes through."""

    label: str
    file_name: str
    model: type[models.Model]
    columns: tuple[str, ...]  # the header names read, all required

    @property
    def live_table(self) -> str:
        return self.model._meta.db_table

    @property
    def staging_table(self) -> str:
        return f"{self.live_table}_import"

    @property
    def load_table(self) -> str:
        return f"{self.live_table}_load"

    @property
    def dates_table(self) -> str:
        return f"{self.live_table}_load_dates"


UNITS = StockFile(
    label="unités légales",
    file_name="StockUniteLegale",
    model=LegalUnit,
    columns=(
        "siren",
        "denominationUniteLegale",
        "sigleUniteLegale",
        "categorieJuridiqueUniteLegale",
        "nicSiegeUniteLegale",
        "etatAdministratifUniteLegale",
        "dateDernierTraitementUniteLegale",
    ),
)
ESTABLISHMENTS = StockFile(
    label="établissements",
    file_name="StockEtablissement",
    model=Establishment,
    columns=(
        "siret",
        "statutDiffusionEtablissement",
        "etablissementSiege",
        "etatAdministratifEtablissement",
        "enseigne1Etablissement",
        "denominationUsuelleEtablissement",
        "numeroVoieEtablissement",
        "indiceRepetitionEtablissement",
        "typeVoieEtablissement",
        "libelleVoieEtablissement",
        "complementAdresseEtablissement",
        "codePostalEtablissement",
        "libelleCommuneEtablissement",
        "codeCommuneEtablissement",
        "codeCedexEtablissement",
        "libelleCedexEtablissement",
        "activitePrincipaleEtablissement",
        "dateDernierTraitementEtablissement",
    ),
)


# Not a file: the words of the new search vectors, for the prefixes typed in the search.
WORDS = StockFile(label="mots de recherche", file_name="", model=SearchWord, columns=())


@dataclass
class LoadedFile:
    stock: StockFile
    path: Path
    columns: dict[str, str] = field(default_factory=dict)  # header name → load-table column
    rows: int = 0  # rows read
    imported: int = 0

    def __getitem__(self, name: str) -> str:
        return self.columns[name]


# Normalisation in SQL ---------------------------------------------------------------------------


@cache
def combining_marks() -> str:
    """A regular-expression bracket of the characters unicodedata.combining() flags, built from
    Python's own Unicode data: SQL drops exactly the marks that normalize_words drops."""
    ranges: list[list[int]] = []
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF or not unicodedata.combining(chr(code)):
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "[" + "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in ranges) + "]"


def sql_normalize(value: str) -> str:
    """SQL giving " ".join(normalize_words(value)): œ/æ spelled out, NFKD, combining marks dropped,
    upper case (ß → SS, dotless ı → I), any other character a separator.

    Plain ASCII skips the Unicode steps, and text already in normal form (most of SIRENE) skips
    the regular expression too. ``value`` should be a column: it is read several times.
    """
    decomposed = (
        "translate(replace(regexp_replace(normalize(replace(replace(replace(replace("
        f"{value}, 'œ', 'oe'), 'Œ', 'OE'), 'æ', 'ae'), 'Æ', 'AE'), NFKD), "
        f"'{combining_marks()}', '', 'g'), 'ß', 'ss'), 'ı', 'i')"
    )
    upper = (
        f"upper((CASE WHEN octet_length({value}) = char_length({value}) THEN {value} "
        f'ELSE {decomposed} END) COLLATE "C")'
    )
    return (
        f"CASE WHEN {value} ~ '^[A-Z0-9]+( [A-Z0-9]+)*$' THEN {value}::text "
        f"ELSE btrim(regexp_replace({upper}, '[^A-Z0-9]+', ' ', 'g')) END"
    )


def sql_lexemes(normalized: str) -> str:
    """SQL giving the tsvector of sql_normalize's result: its words in lower case, each once, without
    positions and without UNSEARCHED_WORDS (the lexemes of organisations.search.search_words)."""
    unsearched = "{" + ",".join(sorted(UNSEARCHED_WORDS)) + "}"
    return f"ts_delete(array_to_tsvector(string_to_array(lower(({normalized}) COLLATE \"C\"), ' ')), '{unsearched}'::text[])"


# Files ------------------------------------------------------------------------------------------


@contextmanager
def open_stock_file(path: Path):
    """(binary stream, bytes of the file read so far, file size) of a stock file, CSV or ZIP."""
    with open(path, "rb") as raw:
        if path.suffix.lower() == ".zip" or zipfile.is_zipfile(raw):
            raw.seek(0)
            try:
                archive = zipfile.ZipFile(raw)
            except (zipfile.BadZipFile, OSError) as error:
                raise SireneImportError(
                    _("%(file)s n'est pas une archive ZIP lisible (%(error)s).")
                    % {"file": path.name, "error": error}
                ) from None
            members = [name for name in archive.namelist() if name.lower().endswith(".csv")]
            if len(members) != 1:
                raise SireneImportError(
                    _("L'archive %(file)s doit contenir un seul fichier CSV (trouvés : %(count)d).")
                    % {"file": path.name, "count": len(members)}
                )
            with archive.open(members[0]) as member:
                yield member, raw.tell, path.stat().st_size
        else:
            raw.seek(0)
            yield raw, raw.tell, path.stat().st_size


def read_header(stream, loaded: LoadedFile) -> list[str]:
    """The file's column names; records in ``loaded`` the load column of each column read."""
    line = stream.readline()
    try:
        header = next(csv.reader([line.decode("utf-8-sig")]), [])
    except UnicodeDecodeError:
        raise SireneImportError(
            _("%(file)s n'est pas encodé en UTF-8.") % {"file": loaded.path.name}
        ) from None
    positions = {name.strip(): index for index, name in reversed(list(enumerate(header)))}
    missing = [name for name in loaded.stock.columns if name not in positions]
    if missing:
        raise SireneImportError(
            _("%(file)s n'est pas un fichier %(expected)s : colonnes absentes de l'en-tête : %(missing)s.")
            % {"file": loaded.path.name, "expected": loaded.stock.file_name, "missing": ", ".join(missing)}
        )
    loaded.columns = {name: f"c{positions[name]}" for name in loaded.stock.columns}
    return header


def _copy_error(error: psycopg.Error, loaded: LoadedFile, width: int) -> SireneImportError:
    """PostgreSQL's COPY error, for the operator: where in the file, and what."""
    line = re.search(r"line (\d+)", error.diag.context or "")  # counted without the header
    where = (
        _("%(file)s, ligne %(line)d") % {"file": loaded.path.name, "line": int(line[1]) + 1}
        if line
        else loaded.path.name
    )
    message = error.diag.message_primary or ""
    if isinstance(error, psycopg.errors.CharacterNotInRepertoire):
        problem = _("le texte n'est pas encodé en UTF-8")
    elif message.startswith(("missing data for column", "extra data after last expected column")):
        problem = _("le nombre de colonnes n'est pas celui de l'en-tête (%(width)d)") % {"width": width}
    elif message.startswith("unterminated CSV quoted field"):
        problem = _("un guillemet ouvert plus haut n'est jamais fermé")
    else:
        problem = _("ligne CSV illisible (%(error)s)") % {"error": message}
    return SireneImportError(f"{where} : {problem}.")


def copy_stock_file(cursor, loaded: LoadedFile, progress: "Progress") -> None:
    """Stream the file into its load table (one text column per header column) through COPY."""
    path = loaded.path
    with open_stock_file(path) as (stream, position, size):
        try:
            header = read_header(stream, loaded)
            cursor.execute(
                f"CREATE UNLOGGED TABLE {loaded.stock.load_table} "
                f"({', '.join(f'c{index} text' for index in range(len(header)))})"
            )
            # Unquoted empty fields stay '' rather than NULL in the columns read.
            not_null = ", ".join(loaded.columns.values())
            progress.start(loaded.stock.label, size, position)
            lines = 0
            with cursor.copy(
                f"COPY {loaded.stock.load_table} FROM STDIN (FORMAT csv, FORCE_NOT_NULL ({not_null}))"
            ) as copy:
                while chunk := stream.read(CHUNK_BYTES):
                    copy.write(chunk)
                    lines += chunk.count(b"\n")
                    progress.update(lines)
            loaded.rows = cursor.rowcount
        except psycopg.DataError as error:
            raise _copy_error(error, loaded, len(header)) from None
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:
            raise SireneImportError(
                _("L'archive %(file)s est endommagée (%(error)s).") % {"file": path.name, "error": error}
            ) from None
    progress.done(loaded.rows)


# From load tables to staging tables -------------------------------------------------------------


def _char_lengths(model: type[models.Model]) -> dict[str, int]:
    lengths = {}
    for model_field in model._meta.concrete_fields:
        target = model_field.target_field if model_field.is_relation else model_field
        if isinstance(target, models.CharField):
            lengths[model_field.column] = target.max_length
    return lengths


def _insert(stock: StockFile, values: dict[str, str], source: str) -> str:
    """INSERT INTO the staging table; ``values`` maps its columns to SQL. Text is cut to the column
    width: one over-long value does not fail an import of millions of rows."""
    lengths = _char_lengths(stock.model)
    expressions = [
        f"left({expression}, {lengths[column]})" if column in lengths else expression
        for column, expression in values.items()
    ]
    return (
        f"INSERT INTO {stock.staging_table} ({', '.join(values)}) "
        f"SELECT {', '.join(expressions)} FROM {source}"
    )


def _identifier(column: str, digits: int) -> str:
    """A SIREN or SIRET, stray characters dropped ("3852ẑ90309" is 385290309); rows whose result
    has not the right length are left out."""
    return (
        f"CASE WHEN ltrim({column}, '0123456789') = '' THEN {column} "
        f"ELSE regexp_replace({column}, '[^0-9]', '', 'g') END"
    )


def _dates_table(loaded: LoadedFile, column: str) -> str:
    # SIRENE writes local times without offset ("2025-01-19T00:00:00"). Few distinct values: each
    # is converted once, then joined.
    source = loaded[column]
    return (
        f"CREATE UNLOGGED TABLE {loaded.stock.dates_table} AS SELECT text, "
        f"nullif(text, '')::timestamp AT TIME ZONE '{settings.TIME_ZONE}' AS moment "
        f"FROM (SELECT DISTINCT {source} AS text FROM {loaded.stock.load_table}) AS dates"
    )


def _create_staging(stock: StockFile) -> str:
    # Logged, unlike the load tables: it becomes the live table, which must survive a crash and
    # which memberships' foreign keys point at (PostgreSQL refuses them on an unlogged table).
    # SET LOGGED at the end would write the whole table a second time.
    return f"CREATE TABLE {stock.staging_table} (LIKE {stock.live_table} INCLUDING ALL EXCLUDING INDEXES)"


def units_statements(units: LoadedFile, *, active_only: bool) -> list[str]:
    """Staging legal units (only the active ones with --actifs-seulement)."""
    u = {name: f"u.{column}" for name, column in units.columns.items()}
    columns = {
        "siren": _identifier(u["siren"], 9),
        "denomination": u["denominationUniteLegale"],
        "sigle": u["sigleUniteLegale"],
        "legal_category": u["categorieJuridiqueUniteLegale"],
        "nic_siege": u["nicSiegeUniteLegale"],
        "is_active": f"{u['etatAdministratifUniteLegale']} = 'A'",
        "processed": u["dateDernierTraitementUniteLegale"],
    }
    filters = f"WHERE {u['etatAdministratifUniteLegale']} = 'A'" if active_only else ""
    rows = (
        f"SELECT {', '.join(f'{sql} AS {column}' for column, sql in columns.items())} "
        f"FROM {UNITS.load_table} u {filters} OFFSET 0"
    )
    values = {column: f"r.{column}" for column in columns if column != "processed"}
    values["last_processed_at"] = "dates.moment"
    source = f"({rows}) r LEFT JOIN {UNITS.dates_table} dates ON dates.text = r.processed WHERE length(r.siren) = 9"
    return [
        _dates_table(units, "dateDernierTraitementUniteLegale"),
        _create_staging(UNITS),
        _insert(UNITS, values, source),
    ]


def unit_words_statements(units_table: str) -> list[str]:
    """Each legal unit's search lexemes (denomination and acronym), computed once per unit."""
    named = (
        "SELECT siren, CASE WHEN sigle = '' THEN denomination ELSE denomination || ' ' || sigle END AS name "
        f"FROM {units_table} OFFSET 0"
    )
    return [
        f"CREATE UNLOGGED TABLE {UNIT_WORDS} AS SELECT siren, {sql_lexemes(sql_normalize('name'))} AS lexemes "
        f"FROM ({named}) AS named",
        f"ANALYZE {UNIT_WORDS}",
    ]


def city_words_statements(establishments: LoadedFile) -> list[str]:
    """Each town name's search lexemes, computed once per distinct name."""
    return [
        f"CREATE UNLOGGED TABLE {CITY_WORDS} AS SELECT city, {sql_lexemes(sql_normalize('city'))} AS lexemes "
        f"FROM (SELECT DISTINCT {establishments['libelleCommuneEtablissement']} AS city "
        f"FROM {ESTABLISHMENTS.load_table}) AS cities",
        f"ANALYZE {CITY_WORDS}",
        _dates_table(establishments, "dateDernierTraitementEtablissement"),
    ]


def establishments_insert(
    establishments: LoadedFile, *, blocks: tuple[int, int | None], active_only: bool, head_offices_only: bool
) -> str:
    """Staging establishments of a range of the load table's blocks, with their search words.

    search_vector holds the lexemes of organisations.search.search_words: the establishment's
    name, its legal unit's denomination and acronym, its town, each once and without positions
    (the search joins prefixes with &: positions would cost import time for nothing). Units' and
    towns' lexemes are computed once each, then merged here by tsvector concatenation.
    """
    e = {name: f"e.{column}" for name, column in establishments.columns.items()}
    first, last = blocks
    filters = [f"e.ctid >= '({first},0)'::tid"]
    if last is not None:
        filters.append(f"e.ctid < '({last},0)'::tid")
    if active_only:
        filters.append(f"{e['etatAdministratifEtablissement']} = 'A'")
    if head_offices_only:
        filters.append(f"{e['etablissementSiege']} = 'true'")
    commune = e["codeCommuneEtablissement"]
    columns = {
        "siret": _identifier(e["siret"], 14),
        "is_siege": f"{e['etablissementSiege']} = 'true'",
        "is_active": f"{e['etatAdministratifEtablissement']} = 'A'",
        "is_diffusible": f"{e['statutDiffusionEtablissement']} = 'O'",  # P: never shown
        "name": f"left(coalesce(nullif({e['enseigne1Etablissement']}, ''), "
        f"{e['denominationUsuelleEtablissement']}), {_char_lengths(Establishment)['name']})",
        "street_number": e["numeroVoieEtablissement"],
        "street_number_suffix": e["indiceRepetitionEtablissement"],
        "street_type": e["typeVoieEtablissement"],
        "street_name": e["libelleVoieEtablissement"],
        "address_complement": e["complementAdresseEtablissement"],
        "postal_code": e["codePostalEtablissement"],
        "city": e["libelleCommuneEtablissement"],
        "commune_code": commune,
        # As organisations.referentials.departement_of_commune: 3 characters overseas (97x, 98x).
        "departement": f"left({commune}, CASE WHEN left({commune}, 2) IN ('97', '98') THEN 3 ELSE 2 END)",
        "cedex_code": e["codeCedexEtablissement"],
        "cedex_label": e["libelleCedexEtablissement"],
        "activity": e["activitePrincipaleEtablissement"],
        "processed": e["dateDernierTraitementEtablissement"],
    }
    rows = (
        f"SELECT {', '.join(f'{sql} AS {column}' for column, sql in columns.items())} "
        f"FROM {ESTABLISHMENTS.load_table} e WHERE {' AND '.join(filters)} OFFSET 0"
    )
    own_name = f"CASE WHEN r.name = '' THEN ''::tsvector ELSE {sql_lexemes(sql_normalize('r.name'))} END"
    codes = ", ".join(
        f"'{POSTAL_CODE_LEXEME}' || left(r.{column}, 5)" for column in ("postal_code", "cedex_code")
    )
    postal_codes = f"array_to_tsvector(array_remove(ARRAY[{codes}], '{POSTAL_CODE_LEXEME}'))"
    lexemes = f"coalesce(unit.lexemes, '') || coalesce(town.lexemes, '') || {own_name} || {postal_codes}"
    values = {column: f"r.{column}" for column in columns if column != "processed"}
    values |= {"siren": "left(r.siret, 9)", "last_processed_at": "dates.moment", "search_vector": lexemes}
    source = (
        f"({rows}) r LEFT JOIN {UNIT_WORDS} unit ON unit.siren = left(r.siret, 9) "
        f"LEFT JOIN {CITY_WORDS} town ON town.city = r.city "
        f"LEFT JOIN {ESTABLISHMENTS.dates_table} dates ON dates.text = r.processed "
        "WHERE length(r.siret) = 14"
    )
    return _insert(ESTABLISHMENTS, values, source)


def words_statements() -> list[str]:
    """The staging table of the words of the new vectors (organisations.search.text_query)."""
    return [
        _create_staging(WORDS),
        f"INSERT INTO {WORDS.staging_table} (word) SELECT word FROM ts_stat('SELECT search_vector FROM "
        f"{ESTABLISHMENTS.staging_table}') WHERE word NOT LIKE '{POSTAL_CODE_LEXEME}%' AND length(word) <= "
        f"{SearchWord._meta.get_field('word').max_length}",
    ]


# Indexes and the swap ---------------------------------------------------------------------------


@dataclass
class StagingIndex:
    name: str  # the live index's name, given to the staging index at the swap
    staging_name: str
    create: str


def staging_indexes(cursor, stock: StockFile) -> list[StagingIndex]:
    """The live table's indexes and index-backed constraints, to build on the staging table;
    the longest (GIN) first, so that parallel builds end together."""
    cursor.execute(
        "SELECT index_class.relname, pg_get_indexdef(index_class.oid), pg_get_constraintdef(con.oid) "
        "FROM pg_index i JOIN pg_class index_class ON index_class.oid = i.indexrelid "
        "LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid "
        "WHERE i.indrelid = %s::regclass ORDER BY index_class.relname",
        [stock.live_table],
    )
    indexes = []
    for number, (name, index_definition, constraint_definition) in enumerate(cursor.fetchall()):
        staging_name = f"{stock.staging_table}_{number}"
        if constraint_definition:
            create = (
                f"ALTER TABLE {stock.staging_table} ADD CONSTRAINT {staging_name} {constraint_definition}"
            )
        else:
            unique = "UNIQUE " if index_definition.startswith("CREATE UNIQUE") else ""
            method_and_columns = index_definition.split(" USING ", 1)[1]
            create = (
                f"CREATE {unique}INDEX {staging_name} ON {stock.staging_table} USING {method_and_columns}"
            )
        indexes.append(StagingIndex(name=name, staging_name=staging_name, create=create))
    return sorted(indexes, key=lambda index: " USING gin " not in index.create)


@dataclass
class Reference:
    """A foreign key pointing at a live table (a membership's establishment or legal unit)."""

    name: str
    table: str
    definition: str
    columns: list[str]
    target_columns: list[str]


def references_to(cursor, table: str) -> list[Reference]:
    cursor.execute(
        "SELECT con.conname, con.conrelid::regclass::text, pg_get_constraintdef(con.oid), "
        "ARRAY(SELECT attname FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, place) "
        "JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY place), "
        "ARRAY(SELECT attname FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, place) "
        "JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY place) "
        "FROM pg_constraint con WHERE con.contype = 'f' AND con.confrelid = %s::regclass ORDER BY 2, 1",
        [table],
    )
    return [Reference(*row) for row in cursor.fetchall()]


def check_live_table(cursor, stock: StockFile) -> None:
    cursor.execute(
        "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid = %s::regclass",
        [stock.live_table],
    )
    if cursor.fetchone()[0]:
        # LIKE does not copy a table's own foreign keys: the swap would drop them.
        raise SireneImportError(
            _("La table %(table)s a des clés étrangères : l'import ne sait pas les recréer.")
            % {"table": stock.live_table}
        )


def _swap_once(
    cursor, swaps: list[tuple[StockFile, list[StagingIndex]]]
) -> tuple[dict[str, int], list[Reference]]:
    kept = {}
    with transaction.atomic():
        cursor.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
        # Index lookups for the few rows memberships point at, not scans of the tables under lock.
        cursor.execute("SET LOCAL enable_nestloop = on")
        # A caller's transaction may hold deferred foreign-key checks, which forbid ALTER TABLE.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        references = {stock: references_to(cursor, stock.live_table) for stock, _indexes in swaps}
        # The referencing tables first: a transaction adding a membership takes them first too.
        for table in sorted({reference.table for refs in references.values() for reference in refs}):
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        for stock, _indexes in swaps:
            cursor.execute(f"LOCK TABLE {stock.live_table} IN ACCESS EXCLUSIVE MODE")
        for stock, _indexes in swaps:
            kept[stock.live_table] = 0
            for reference in references[stock]:
                live_key = ", ".join(f"live.{column}" for column in reference.target_columns)
                staged_key = ", ".join(f"staged.{column}" for column in reference.target_columns)
                cursor.execute(
                    f"INSERT INTO {stock.staging_table} SELECT live.* FROM {stock.live_table} live "
                    f"WHERE ({live_key}) IN (SELECT {', '.join(reference.columns)} FROM {reference.table}) "
                    f"AND NOT EXISTS (SELECT FROM {stock.staging_table} staged WHERE ({staged_key}) = ({live_key}))"
                )
                kept[stock.live_table] += cursor.rowcount
        every_reference = [reference for refs in references.values() for reference in refs]
        for reference in every_reference:
            cursor.execute(f'ALTER TABLE {reference.table} DROP CONSTRAINT "{reference.name}"')
        for stock, indexes in swaps:
            cursor.execute(f"ALTER TABLE {stock.live_table} RENAME TO {stock.live_table}_old")
            cursor.execute(f"ALTER TABLE {stock.staging_table} RENAME TO {stock.live_table}")
            cursor.execute(f"DROP TABLE {stock.live_table}_old")
            for index in indexes:
                cursor.execute(f'ALTER INDEX {index.staging_name} RENAME TO "{index.name}"')
        # Checked after the swap (VALIDATE), without blocking search: the rows are there.
        for reference in every_reference:
            cursor.execute(
                f'ALTER TABLE {reference.table} ADD CONSTRAINT "{reference.name}" {reference.definition} NOT VALID'
            )
    return kept, every_reference


def swap_tables(cursor, swaps: list[tuple[StockFile, list[StagingIndex]]]) -> dict[str, int]:
    """Put the staging tables in place of the live ones, in one transaction.

    Rows that a foreign key (a membership, PROTECT) references and that the new files lack are
    first copied from the live table, so that no registration loses its organisation. Returns the
    number of rows kept that way, per live table. The transaction waits at most a few seconds for
    the locks (searches queue behind it meanwhile), and tries again while a long query holds them.
    """
    for attempt in range(1, SWAP_ATTEMPTS + 1):
        try:
            kept, references = _swap_once(cursor, swaps)
            break
        except OperationalError as error:
            if attempt == SWAP_ATTEMPTS or not isinstance(error.__cause__, psycopg.errors.LockNotAvailable):
                raise
            time.sleep(1)
    for reference in references:
        cursor.execute(f'ALTER TABLE {reference.table} VALIDATE CONSTRAINT "{reference.name}"')
    return kept


# Running it -------------------------------------------------------------------------------------


class Lanes:
    """Where the import's SQL runs: on the caller's connection or, when that connection is in
    autocommit mode, on connections of their own in threads (PostgreSQL then uses several cores)."""

    def __init__(self, cursor, workers: int):
        self.cursor = cursor
        self.count = workers
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="import_sirene") if workers > 1 else None
        self.local = threading.local()
        self.opened: list[psycopg.Connection] = []
        self.lock = threading.Lock()

    def _connection(self) -> psycopg.Connection:
        raw = getattr(self.local, "connection", None)
        if raw is None:
            raw = connection.get_new_connection(connection.get_connection_params())
            raw.autocommit = True
            for statement in SESSION_SETTINGS:
                raw.execute(statement)
            self.local.connection = raw
            with self.lock:
                self.opened.append(raw)
        return raw

    def _execute(self, statements: list[str]) -> int:
        with self._connection().cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
            return cursor.rowcount

    def start(self, statements: list[str]) -> Future:
        if self.pool is not None:
            return self.pool.submit(self._execute, statements)
        future: Future = Future()
        for statement in statements:
            self.cursor.execute(statement)
        future.set_result(self.cursor.rowcount)
        return future

    def run(self, *jobs: list[str]) -> list[int]:
        """Run the jobs (lists of statements) at once; their last row counts."""
        return self.wait(*[self.start(job) for job in jobs])

    def wait(self, *futures: Future) -> list[int]:
        try:
            return [future.result() for future in futures]
        except BaseException:
            self.cancel()
            raise

    def cancel(self) -> None:
        for raw in list(self.opened):
            with suppress(psycopg.Error):
                raw.cancel_safe()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        for raw in self.opened:
            raw.close()


@dataclass
class Progress:
    """Lines on the operator's terminal: rows, rows per second, time left (from the share of the
    file read), at most four times a second (every 5 s when not a terminal)."""

    write: Callable[[str], None] | None
    interactive: bool = False
    label: str = ""
    total_bytes: int = 0
    position: Callable[[], int] = lambda: 0
    started: float = 0.0
    shown: float = 0.0

    def start(self, label: str, total_bytes: int, position: Callable[[], int]) -> None:
        self.label, self.total_bytes, self.position = label, total_bytes, position
        self.started = self.shown = time.monotonic()

    def update(self, rows: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if self.write is None or (not force and now - self.shown < (0.25 if self.interactive else 5.0)):
            return
        self.shown = now
        elapsed = max(now - self.started, 1e-6)
        done = min(self.position() / self.total_bytes, 1.0) if self.total_bytes else 1.0
        line = _("%(label)s : %(rows)s lignes lues, %(rate)s lignes/s, %(done)d %%, reste %(left)s") % {
            "label": self.label.capitalize(),
            "rows": format_count(rows),
            "rate": format_count(rows / elapsed),
            "done": done * 100,
            "left": format_duration(elapsed * (1 - done) / done if done else 0.0),
        }
        self.write(f"\r{line}\033[K" if self.interactive else f"{line}\n")

    def done(self, rows: int) -> None:
        self.position = lambda: self.total_bytes
        self.update(rows, force=True)
        if self.write is not None and self.interactive:
            self.write("\n")

    @contextmanager
    def step(self, text: str):
        started = time.monotonic()
        yield
        if self.write is not None:
            self.write(f"{text} ({format_duration(time.monotonic() - started)})\n")


def format_count(number: float) -> str:
    return f"{round(number):,}".replace(",", "\u202f")


def format_duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s".replace(".", ",")
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"


@dataclass
class ImportSummary:
    files: list[LoadedFile] = field(default_factory=list)
    kept: dict[str, int] = field(default_factory=dict)  # rows kept for memberships, per file label
    seconds: float = 0.0


def _work_tables() -> list[str]:
    tables = [UNIT_WORDS, CITY_WORDS]
    for stock in (UNITS, ESTABLISHMENTS):
        tables += [stock.load_table, stock.dates_table, stock.staging_table]
    return [*tables, WORDS.staging_table]


@contextmanager
def _import_lock(cursor):
    cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
    if not cursor.fetchone()[0]:
        raise SireneImportError(_("Un import SIRENE est déjà en cours : attendez qu'il se termine."))
    try:
        for statement in SESSION_SETTINGS:
            cursor.execute(statement)
        yield
    finally:
        cursor.execute("RESET work_mem")
        cursor.execute("RESET maintenance_work_mem")
        cursor.execute("RESET enable_nestloop")
        cursor.execute("RESET max_parallel_maintenance_workers")
        cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


def _build_indexes(cursor, lanes: Lanes, stock: StockFile, path: Path | None = None) -> list[StagingIndex]:
    indexes = staging_indexes(cursor, stock)
    try:
        lanes.run(*[[index.create] for index in indexes])
    except (IntegrityError, psycopg.IntegrityError):
        raise SireneImportError(
            _("%(file)s contient des identifiants en double.") % {"file": path.name if path else stock.label}
        ) from None
    return indexes


def _run_import(
    cursor,
    lanes: Lanes,
    summary: ImportSummary,
    progress: Progress,
    *,
    active_only: bool,
    head_offices_only: bool,
) -> None:
    swaps = []
    units = next((loaded for loaded in summary.files if loaded.stock is UNITS), None)
    establishments = next((loaded for loaded in summary.files if loaded.stock is ESTABLISHMENTS), None)
    for loaded in summary.files:
        check_live_table(cursor, loaded.stock)
    cursor.execute(f"DROP TABLE IF EXISTS {', '.join(_work_tables())}")
    units_ready = None
    if units:
        copy_stock_file(cursor, units, progress)
        # Prepared while the establishments file streams in.
        job = [f"ANALYZE {UNITS.load_table}", *units_statements(units, active_only=active_only)]
        if establishments:
            job += unit_words_statements(UNITS.staging_table)
        units_ready = lanes.start(job)
    elif establishments:
        units_ready = lanes.start(unit_words_statements(UNITS.live_table))
    if establishments:
        copy_stock_file(cursor, establishments, progress)
    if units_ready is not None:
        with progress.step(_("Unités légales prêtes")):
            lanes.wait(units_ready)
    if units:
        cursor.execute(f"SELECT count(*) FROM {UNITS.staging_table}")
        units.imported = cursor.fetchone()[0]
        with progress.step(_("Unités légales : index créés")):
            swaps.append((UNITS, _build_indexes(cursor, lanes, UNITS, units.path)))
            cursor.execute(f"ANALYZE {UNITS.staging_table}")
    if establishments:
        with progress.step(_("Établissements : mots de recherche calculés")):
            lanes.run(
                city_words_statements(establishments),
                [_create_staging(ESTABLISHMENTS), f"ANALYZE {ESTABLISHMENTS.load_table}"],
            )
            cursor.execute(
                f"SELECT pg_relation_size('{ESTABLISHMENTS.load_table}') / current_setting('block_size')::int"
            )
            blocks = cursor.fetchone()[0]
            bounds = [blocks * part // lanes.count for part in range(lanes.count)] + [None]
            options = {"active_only": active_only, "head_offices_only": head_offices_only}
            jobs = [
                [establishments_insert(establishments, blocks=(bounds[part], bounds[part + 1]), **options)]
                for part in range(lanes.count)
            ]
            establishments.imported = sum(lanes.run(*jobs))
            cursor.execute(f"ANALYZE {ESTABLISHMENTS.staging_table}")
        with progress.step(_("Établissements : index créés")):
            words_ready = lanes.start(words_statements())  # beside the index builds
            swaps.append((ESTABLISHMENTS, _build_indexes(cursor, lanes, ESTABLISHMENTS, establishments.path)))
            lanes.wait(words_ready)
            swaps.append((WORDS, _build_indexes(cursor, lanes, WORDS)))
    with progress.step(_("Tables remplacées")):
        kept = swap_tables(cursor, swaps)
        summary.kept = {stock.label: kept[stock.live_table] for stock, _indexes in swaps}


def import_sirene(
    *,
    units_path: Path | str | None = None,
    establishments_path: Path | str | None = None,
    active_only: bool = False,
    head_offices_only: bool = False,
    write: Callable[[str], None] | None = None,
    interactive: bool = False,
) -> ImportSummary:
    """Replace the legal units and/or the establishments with the rows of the stock files.

    Either file may be imported alone: establishments then take their legal units' words from
    the live table, and a legal units file alone leaves the establishments' search words as they
    are. Rows that a membership references and the new file lacks are kept.
    """
    summary = ImportSummary()
    for stock, path in ((UNITS, units_path), (ESTABLISHMENTS, establishments_path)):
        if path:
            summary.files.append(LoadedFile(stock=stock, path=Path(path)))
    if not summary.files:
        raise SireneImportError(
            _("Indiquez le fichier des unités légales, celui des établissements, ou les deux.")
        )
    for loaded in summary.files:
        if not loaded.path.is_file():
            raise SireneImportError(_("Fichier introuvable : %(path)s") % {"path": loaded.path})
    started = time.monotonic()
    workers = 1 if connection.in_atomic_block else min(MAX_WORKERS, os.cpu_count() or 1)
    progress = Progress(write, interactive)
    with connection.cursor() as cursor, _import_lock(cursor):
        lanes = Lanes(cursor, workers)
        try:
            # In a caller's transaction (tests), a savepoint lets the clean-up below run after an error.
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                _run_import(
                    cursor,
                    lanes,
                    summary,
                    progress,
                    active_only=active_only,
                    head_offices_only=head_offices_only,
                )
        except (DataError, psycopg.DataError) as error:
            lanes.cancel()
            raise SireneImportError(_("Données illisibles : %(error)s") % {"error": error}) from None
        except BaseException:
            lanes.cancel()  # the other connections' work is of no use any more
            raise
        finally:
            lanes.close()
            cursor.execute(f"DROP TABLE IF EXISTS {', '.join(_work_tables())}")
    summary.seconds = time.monotonic() - started
    return summary
