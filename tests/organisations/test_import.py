"""import_sirene: the stock files replace the mirror's tables, search answering until the swap."""

import csv
import io
import threading
import zipfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from organisations import importer
from organisations.importer import LOCK_KEY, sql_normalize
from organisations.models import Establishment, LegalUnit, SearchWord
from organisations.search import normalize_words, search_establishments, search_words
from tests.organisations.factories import EstablishmentFactory, LegalUnitFactory
from tests.organisations.test_staff_queue import make_membership

pytestmark = pytest.mark.django_db

STOCK_FILES = Path(__file__).parent / "stock_files"
UNITS = STOCK_FILES / "StockUniteLegale_utf8.csv"
ESTABLISHMENTS = STOCK_FILES / "StockEtablissement_utf8.csv"
PARIS = ZoneInfo("Europe/Paris")
ALL_SIRETS = {
    "20000400000010",
    "20000400000028",
    "20003700000011",
    "21974110500015",
    "21974110500023",
    "25330000800013",
    "77880000300015",
    "99123450100013",
    "53440000700017",
    "98800000600011",
    "24000100800012",
}


def run_import(**options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_sirene", stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def import_both(**options) -> tuple[str, str]:
    return run_import(unites_legales=UNITS, etablissements=ESTABLISHMENTS, **options)


def found(results) -> list[str]:
    return [establishment.siret for establishment in results.page]


def table_rows(model) -> list[tuple]:
    return sorted(model.objects.values_list(*[f.attname for f in model._meta.concrete_fields]))


def table_definition(table: str) -> dict:
    """What a swap must keep: columns, indexes and constraints, including those pointing at it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, format_type(atttypid, atttypmod), attnotnull, pg_get_expr(adbin, adrelid) "
            "FROM pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            [table],
        )
        columns = cursor.fetchall()
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1", [table])
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass OR confrelid = %s::regclass ORDER BY 1",
            [table, table],
        )
        constraints = cursor.fetchall()
    return {"columns": columns, "indexes": indexes, "constraints": constraints}


# The rows -------------------------------------------------------------------------------------


def test_imports_every_row_with_its_values():
    out, _err = import_both()

    assert "Unités légales : 9 lignes importées sur 9 lues." in out
    assert "Établissements : 11 lignes importées sur 11 lues." in out
    assert set(Establishment.objects.values_list("siret", flat=True)) == ALL_SIRETS
    assert Establishment.objects.filter(siret="25330000800013").values().get() == {
        "siret": "25330000800013",
        "legal_unit_id": "253300008",
        "is_siege": True,
        "is_active": True,
        "is_diffusible": True,
        "name": "SIEG DE LA GIRONDE",
        "street_number": "9",
        "street_number_suffix": "",
        "street_type": "CRS",
        "street_name": "DE LA MARNE",
        "address_complement": 'BATIMENT "LE PHARE", 2E ETAGE',
        "postal_code": "33000",
        "city": "BORDEAUX",
        "commune_code": "33063",
        "departement": "33",
        "cedex_code": "",
        "cedex_label": "",
        "activity": "35.13Z",
        "last_processed_at": None,
        "search_vector": "'33' 'bordeaux' 'cp=33000' 'eau' 'electricite' 'gaz' 'gironde' 'intercommunal' "
        "'sieg' 'syndicat'",
    }
    assert LegalUnit.objects.filter(siren="253300008").values().get() == {
        "siren": "253300008",
        "denomination": "SYNDICAT INTERCOMMUNAL D'ÉLECTRICITÉ, DE GAZ ET D'EAU DE LA GIRONDE",
        "sigle": "SIEG 33",
        "legal_category": "7354",
        "nic_siege": "00013",
        "is_active": True,
        "last_processed_at": None,
    }


def test_empty_columns_quotes_flags_and_dates():
    import_both()

    bastia = Establishment.objects.get(siret="20003700000011")
    assert (bastia.name, bastia.street_name, bastia.activity, bastia.last_processed_at) == ("", "", "", None)
    mairie = Establishment.objects.get(siret="20000400000010")
    assert (mairie.name, mairie.is_siege, mairie.activity) == ("MAIRIE", True, "84.11Z")
    assert mairie.last_processed_at == datetime(2025, 1, 19, tzinfo=PARIS)
    technical_centre = Establishment.objects.get(siret="20000400000028")
    assert (technical_centre.name, technical_centre.is_siege) == ("CENTRE TECHNIQUE MUNICIPAL", False)
    assert technical_centre.street_number_suffix == "B"
    association = LegalUnit.objects.get(siren="778800003")
    assert association.denomination == 'ASSOCIATION "LES AMIS DU CŒUR" DE L\'HAŸ-LES-ROSES'
    ajaccio = LegalUnit.objects.get(siren="200004000")
    assert ajaccio.last_processed_at == datetime(2024, 3, 30, 10, 15, tzinfo=PARIS)
    assert LegalUnit.objects.get(siren="991234501").is_active is False


@pytest.mark.parametrize(
    ("siret", "departement"),
    [
        ("20000400000010", "2A"),
        ("20003700000011", "2B"),
        ("21974110500015", "974"),
        ("98800000600011", "988"),
        ("53440000700017", "33"),
    ],
)
def test_departement_from_the_commune_code(siret, departement):
    import_both()

    assert Establishment.objects.get(siret=siret).departement == departement


def test_states_and_diffusion():
    import_both()

    assert Establishment.objects.get(siret="21974110500023").is_active is False
    assert Establishment.objects.get(siret="99123450100013").is_active is False
    assert Establishment.objects.get(siret="77880000300015").is_diffusible is False
    assert Establishment.objects.filter(is_diffusible=False).count() == 1


def test_a_siren_with_a_stray_character_is_read_from_its_digits():
    import_both()

    dinard = Establishment.objects.select_related("legal_unit").get(siret="24000100800012")
    assert dinard.legal_unit_id == "240001008"
    assert dinard.legal_unit.denomination == "COMMUNAUTÉ DE COMMUNES DU PAYS D'ÉMERAUDE"


def test_rows_without_a_usable_identifier_are_left_out(tmp_path):
    lines = ESTABLISHMENTS.read_text(encoding="utf-8").splitlines()
    broken = lines[1].replace("20000400000010", "2000040000001", 1)
    path = tmp_path / "StockEtablissement_utf8.csv"
    path.write_text("\n".join([lines[0], broken, lines[2]]) + "\n", encoding="utf-8")

    out, _err = run_import(etablissements=path)

    assert "1 ligne importée sur 2 lues" in out
    assert list(Establishment.objects.values_list("siret", flat=True)) == ["20000400000028"]


# The search words -----------------------------------------------------------------------------


def test_search_words_are_those_of_the_python_search():
    import_both()

    establishments = list(Establishment.objects.select_related("legal_unit"))
    assert any(establishment.cedex_code for establishment in establishments)
    all_words = set()
    for establishment in establishments:
        unit = establishment.legal_unit
        expected = search_words(
            name=establishment.name,
            denomination=unit.denomination,
            sigle=unit.sigle,
            city=establishment.city,
            postal_code=establishment.postal_code,
            cedex_code=establishment.cedex_code,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tsvector_to_array(search_vector) FROM organisations_establishment WHERE siret = %s",
                [establishment.siret],
            )
            assert cursor.fetchone()[0] == expected, establishment.siret
        all_words.update(expected)
    # The words a typed prefix may stand for: every word of the vectors, no postal code.
    assert set(SearchWord.objects.values_list("word", flat=True)) == {
        word for word in all_words if not word.startswith("cp=")
    }


TRICKY_NAMES = [
    "L'HAŸ-LES-ROSES",
    "L’Haÿ-les-Roses",
    "Œuvre d'Orléans",
    "cœur Æsir ŒIL",
    "Saint-Étienne-du-Rouvray",
    "ÎLE-DE-FRANCE, Châlons-en-Champagne",
    "Ça va à Noël",
    "Straße ı",
    "e\u0301cole de\u0301compose\u0301e",
    "ﬁlature ＦＵＬＬ Ｗｉｄｔｈ",
    "Nº 5 — 2ᵉ arr. ½ ²",
    "13 RUE 2BIS 75013-PARIS",
    '  "LE PHARE",   2E ÉTAGE  ',
    "Ørsted Łódź Đà Nẵng",
    "Αθήνα Москва 東京",
    "",
    "  ",
    "-'-",
]


def _sql_words(texts: list[str]) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {sql_normalize('t.value')} FROM unnest(%s::text[]) WITH ORDINALITY AS t(value, place) "  # noqa: S608
            "ORDER BY place",
            [texts],
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize("name", TRICKY_NAMES)
def test_sql_normalisation_gives_the_words_of_normalize_words(name):
    assert _sql_words([name]) == [" ".join(normalize_words(name))]


def test_sql_normalisation_agrees_on_every_character_of_the_first_planes():
    # Each character between two letters: dropped (a combining mark), a separator, or letters.
    codes = [code for code in range(1, 0x20000) if not 0xD800 <= code <= 0xDFFF]
    texts = [f"a{chr(code)}b" for code in codes]

    differences = [
        (hex(code), got)
        for code, text, got in zip(codes, texts, _sql_words(texts), strict=True)
        if got != " ".join(normalize_words(text))
    ]

    assert differences == []


# What the search shows right after an import --------------------------------------------------


def test_search_answers_right_after_an_import():
    import_both()

    assert found(search_establishments(query="ajac")) == ["20000400000010", "20000400000028"]
    assert found(search_establishments(query="commune emeraude")) == ["24000100800012"]
    assert found(search_establishments(query="sieg 33")) == ["25330000800013"]
    # Two open head offices: by SIRET.
    assert found(search_establishments(query="bordeaux", postal_code="33000")) == [
        "25330000800013",
        "53440000700017",
    ]
    assert found(search_establishments(query="allocations", postal_code="33085")) == ["53440000700017"]
    assert found(search_establishments(query="province", departement="988")) == ["98800000600011"]


def test_closed_establishments_come_after_open_ones():
    import_both()

    assert found(search_establishments(query="saint denis")) == ["21974110500015", "21974110500023"]
    assert found(search_establishments(query="val arret")) == ["99123450100013"]


@pytest.mark.parametrize("query", ["amis du coeur", "hay les roses", "77880000300015", "778800003"])
def test_non_diffusible_rows_are_never_returned(query):
    import_both()

    assert found(search_establishments(query=query)) == []


# Options --------------------------------------------------------------------------------------


def test_active_only_keeps_open_establishments_and_active_legal_units():
    out, _err = import_both(actifs_seulement=True)

    assert set(Establishment.objects.values_list("siret", flat=True)) == ALL_SIRETS - {
        "21974110500023",
        "99123450100013",
    }
    assert not LegalUnit.objects.filter(siren="991234501").exists()
    assert "Établissements : 9 lignes importées sur 11 lues." in out


def test_head_offices_only():
    import_both(sieges_seulement=True)

    assert set(Establishment.objects.values_list("siret", flat=True)) == ALL_SIRETS - {
        "20000400000028",
        "21974110500023",
    }
    assert LegalUnit.objects.count() == 9


def test_both_options_together():
    import_both(actifs_seulement=True, sieges_seulement=True)

    assert Establishment.objects.filter(is_active=False).count() == 0
    assert Establishment.objects.filter(is_siege=False).count() == 0
    assert Establishment.objects.count() == 8


def test_legal_units_alone_leave_the_establishments_in_place():
    establishment = EstablishmentFactory()

    run_import(unites_legales=UNITS)

    assert LegalUnit.objects.count() == 9
    assert list(Establishment.objects.values_list("siret", flat=True)) == [establishment.siret]


def test_establishments_alone_take_the_words_of_the_live_legal_units():
    LegalUnitFactory(siren="200004000", denomination="VILLE D'AJACCIO")

    run_import(etablissements=ESTABLISHMENTS)

    assert found(search_establishments(query="ville ajaccio")) == ["20000400000010", "20000400000028"]


# Idempotence, ZIP, the swap -------------------------------------------------------------------


def test_importing_twice_gives_the_same_tables():
    import_both()
    units, establishments = table_rows(LegalUnit), table_rows(Establishment)
    definition = table_definition("organisations_establishment")

    import_both()

    assert table_rows(LegalUnit) == units
    assert table_rows(Establishment) == establishments
    assert table_definition("organisations_establishment") == definition


def test_the_swap_keeps_the_live_tables_definitions():
    before = {
        table: table_definition(table) for table in ("organisations_establishment", "organisations_legalunit")
    }

    import_both()

    assert {table: table_definition(table) for table in before} == before


def test_reads_the_csv_inside_a_zip(tmp_path):
    for path in (UNITS, ESTABLISHMENTS):
        with zipfile.ZipFile(tmp_path / path.with_suffix(".zip").name, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(path, path.name)

    run_import(
        unites_legales=tmp_path / "StockUniteLegale_utf8.zip",
        etablissements=tmp_path / "StockEtablissement_utf8.zip",
    )

    assert set(Establishment.objects.values_list("siret", flat=True)) == ALL_SIRETS
    assert LegalUnit.objects.count() == 9


def test_columns_are_found_by_header_name(tmp_path):
    # The same file with its columns in reverse order.
    lines = ESTABLISHMENTS.read_text(encoding="utf-8").splitlines()
    reader = csv.reader(lines)
    path = tmp_path / "StockEtablissement_utf8.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        for row in reader:
            writer.writerow(reversed(row))

    run_import(unites_legales=UNITS, etablissements=path)

    assert (
        Establishment.objects.get(siret="25330000800013").address_complement
        == 'BATIMENT "LE PHARE", 2E ETAGE'
    )
    assert Establishment.objects.count() == 11


def test_rows_a_membership_points_at_are_kept():
    membership = make_membership()
    establishment, unit = membership.establishment, membership.legal_unit
    other = EstablishmentFactory()

    out, _err = import_both()

    assert Establishment.objects.filter(siret=establishment.siret).exists()
    assert LegalUnit.objects.filter(siren=unit.siren).exists()
    assert not Establishment.objects.filter(siret=other.siret).exists()
    assert Establishment.objects.count() == len(ALL_SIRETS) + 1
    assert "Établissements : 1 ligne absente du fichier gardée" in out
    membership.refresh_from_db()
    assert membership.establishment.siret == establishment.siret
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, convalidated FROM pg_constraint WHERE contype = 'f' "
            "AND confrelid = 'organisations_establishment'::regclass"
        )
        assert cursor.fetchall() == [("organisations_membership_establishment_id_c8f14df4_fk", True)]


def test_the_swap_waits_for_a_long_query_to_end(monkeypatch):
    monkeypatch.setattr(importer, "SWAP_LOCK_TIMEOUT", "100ms")
    naps = []
    nap = importer.time.sleep
    monkeypatch.setattr(importer.time, "sleep", lambda seconds: naps.append(seconds) or nap(seconds))
    with psycopg.connect(**connection.get_connection_params()) as reader:
        # A long read holds its lock on the live table until its transaction ends, in a second.
        reader.execute("SELECT count(*) FROM organisations_establishment")
        timer = threading.Timer(1.0, reader.commit)
        timer.start()

        import_both()

        timer.join()
    assert naps  # it waited, then tried again
    assert set(Establishment.objects.values_list("siret", flat=True)) == ALL_SIRETS


def test_search_answers_from_the_live_table_until_the_swap(monkeypatch):
    old = EstablishmentFactory(legal_unit=LegalUnitFactory(denomination="ANCIEN SYNDICAT"))
    seen = {}
    swap = importer.swap_tables

    def look_then_swap(cursor, swaps):
        # The staging tables are ready: the live one still answers with the old rows.
        seen["during"] = found(search_establishments(query="ancien syndicat"))
        return swap(cursor, swaps)

    monkeypatch.setattr(importer, "swap_tables", look_then_swap)

    import_both()

    assert seen["during"] == [old.siret]
    assert found(search_establishments(query="ancien syndicat")) == []


# Errors ---------------------------------------------------------------------------------------


@pytest.fixture
def live_rows():
    establishment = EstablishmentFactory()
    return table_rows(LegalUnit), table_rows(Establishment), establishment


def assert_untouched(live_rows):
    units, establishments, _establishment = live_rows
    assert table_rows(LegalUnit) == units
    assert table_rows(Establishment) == establishments
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname LIKE %s", ["organisations_%_load%"])
        assert cursor.fetchone()[0] == 0


def test_a_missing_header_column_is_a_clear_error(tmp_path, live_rows):
    path = tmp_path / "StockEtablissement_utf8.csv"
    path.write_text(
        ESTABLISHMENTS.read_text(encoding="utf-8").replace(",siret,", ",numero_siret,", 1), encoding="utf-8"
    )

    with pytest.raises(CommandError) as error:
        run_import(unites_legales=UNITS, etablissements=path)

    assert str(error.value) == (
        "StockEtablissement_utf8.csv n'est pas un fichier StockEtablissement : colonnes absentes de "
        "l'en-tête : siret. Les tables en service n'ont pas été modifiées."
    )
    assert_untouched(live_rows)


def test_the_files_swapped_are_a_clear_error(live_rows):
    with pytest.raises(
        CommandError, match=r"StockEtablissement_utf8\.csv n'est pas un fichier StockUniteLegale"
    ):
        run_import(unites_legales=ESTABLISHMENTS, etablissements=UNITS)

    assert_untouched(live_rows)


def test_an_unreadable_zip_is_a_clear_error(tmp_path, live_rows):
    path = tmp_path / "StockEtablissement_utf8.zip"
    path.write_bytes(b"PK\x03\x04 ceci n'est pas une archive")

    with pytest.raises(CommandError, match=r"StockEtablissement_utf8\.zip n'est pas une archive ZIP lisible"):
        run_import(unites_legales=UNITS, etablissements=path)

    assert_untouched(live_rows)


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (lambda line: line[:60], "ligne 4 : le nombre de colonnes n'est pas celui de l'en-tête (54)"),
        (lambda line: line + ",", "ligne 4 : le nombre de colonnes n'est pas celui de l'en-tête (54)"),
        # The field runs to the end of the file: the last line is the one PostgreSQL names.
        (
            lambda line: line.replace(",BASTIA,", ',"BASTIA,'),
            "ligne 13 : un guillemet ouvert plus haut n'est jamais fermé",
        ),
    ],
)
def test_a_malformed_row_is_a_clear_error(tmp_path, live_rows, broken, message):
    lines = ESTABLISHMENTS.read_text(encoding="utf-8").splitlines()
    lines[3] = broken(lines[3])
    path = tmp_path / "StockEtablissement_utf8.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    with pytest.raises(CommandError) as error:
        run_import(etablissements=path)

    assert str(error.value).startswith(f"StockEtablissement_utf8.csv, {message}.")
    assert_untouched(live_rows)


def test_duplicate_identifiers_are_a_clear_error(tmp_path, live_rows):
    lines = UNITS.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "StockUniteLegale_utf8.csv"
    path.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")

    with pytest.raises(CommandError, match=r"StockUniteLegale_utf8\.csv contient des identifiants en double"):
        run_import(unites_legales=path, etablissements=ESTABLISHMENTS)

    assert_untouched(live_rows)


def test_text_not_in_utf8_is_a_clear_error(tmp_path, live_rows):
    lines = ESTABLISHMENTS.read_text(encoding="utf-8").splitlines(keepends=True)
    assert "HÔTEL DE VILLE" in lines[4]
    path = tmp_path / "StockEtablissement_utf8.csv"
    path.write_bytes(
        b"".join(line.encode("latin-1" if number == 4 else "utf-8") for number, line in enumerate(lines))
    )

    with pytest.raises(CommandError, match="ligne 5 : le texte n'est pas encodé en UTF-8"):
        run_import(etablissements=path)

    assert_untouched(live_rows)


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="Fichier introuvable"):
        run_import(etablissements=tmp_path / "absent.csv")


def test_a_file_is_required():
    with pytest.raises(CommandError, match="Indiquez le fichier des unités légales"):
        run_import()


def test_one_import_at_a_time(live_rows):
    settings = connection.get_connection_params()
    with psycopg.connect(**settings) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])

        with pytest.raises(CommandError, match="Un import SIRENE est déjà en cours"):
            import_both()

    assert_untouched(live_rows)


# The command ----------------------------------------------------------------------------------


def test_the_command_reports_progress_and_rate():
    out, err = import_both()

    assert "Établissements : 11 lignes lues" in err
    assert "lignes/s" in err
    assert "Établissements : index créés" in err
    assert "Import terminé en" in out
    assert "établissements/s" in out


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_outside_a_transaction_the_work_is_shared_between_connections(monkeypatch):
    monkeypatch.setattr(importer, "MAX_WORKERS", 2)
    monkeypatch.setattr(importer.os, "cpu_count", lambda: 2)
    membership = make_membership()

    import_both()
    rows = table_rows(Establishment)
    import_both()

    assert table_rows(Establishment) == rows
    assert {row[0] for row in rows} == ALL_SIRETS | {membership.establishment_id}
    assert found(search_establishments(query="saint denis")) == ["21974110500015", "21974110500023"]
    assert found(search_establishments(query="amis coeur")) == []
