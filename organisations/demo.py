"""Demonstration organisations: real public bodies and every commune, without a SIRENE import.

Loading is an upsert keyed on SIREN and SIRET, so running it again leaves the same rows.
"""

from django.db import transaction

from organisations.models import Establishment, LegalUnit
from organisations.referentials import departement_of_commune, read_csv
from organisations.services import SIRENE_ESTABLISHMENT_FIELDS, SIRENE_LEGAL_UNIT_FIELDS, refresh_search_index

DEMO_ESTABLISHMENTS_FILE = "demo_establishments.csv"
COMMUNES_FILE = "communes.csv"
COMMUNE_LEGAL_CATEGORY = "7210"
BATCH_SIZE = 5000

LEGAL_UNIT_FIELDS = SIRENE_LEGAL_UNIT_FIELDS
ESTABLISHMENT_FIELDS = SIRENE_ESTABLISHMENT_FIELDS


def _flag(value: str) -> bool:
    return {"true": True, "false": False}[value.strip().lower()]


def commune_denomination(name: str) -> str:
    """The legal unit's name of a commune, SIRENE style: "COMMUNE DE PARIS"."""
    return f"COMMUNE DE {name.upper()}"


def upsert_commune_legal_units() -> int:
    """Every commune of communes.csv that has a SIREN becomes a legal unit (category 7210).

    Only the name and category are written on conflict: a unit already known (from a SIRENE import
    or the demo establishments) keeps its head office and state.
    """
    units = [
        LegalUnit(
            siren=row["siren"],
            denomination=commune_denomination(row["nom"]),
            legal_category=COMMUNE_LEGAL_CATEGORY,
        )
        for row in read_csv(COMMUNES_FILE)
        if row["siren"]
    ]
    for start in range(0, len(units), BATCH_SIZE):
        LegalUnit.objects.bulk_create(
            units[start : start + BATCH_SIZE],
            update_conflicts=True,
            unique_fields=["siren"],
            update_fields=["denomination", "legal_category"],
        )
    return len(units)


def _demo_rows() -> list[dict[str, str]]:
    rows = read_csv(DEMO_ESTABLISHMENTS_FILE)
    for row in rows:
        if not row["siret"].startswith(row["siren"]):
            raise ValueError(
                f"{DEMO_ESTABLISHMENTS_FILE}: SIRET {row['siret']} is not of SIREN {row['siren']}"
            )
    return rows


def upsert_demo_establishments() -> tuple[int, list[str]]:
    """The legal units and establishments of demo_establishments.csv; (units, SIRETs) loaded."""
    rows = _demo_rows()
    units = {}
    for row in rows:
        units.setdefault(
            row["siren"],
            LegalUnit(
                siren=row["siren"],
                denomination=row["denomination"],
                sigle=row["sigle"],
                legal_category=row["legal_category"],
                nic_siege=row["nic_siege"],
                is_active=_flag(row["unit_is_active"]),
            ),
        )
    LegalUnit.objects.bulk_create(
        units.values(), update_conflicts=True, unique_fields=["siren"], update_fields=LEGAL_UNIT_FIELDS
    )
    establishments = [
        Establishment(
            siret=row["siret"],
            legal_unit_id=row["siren"],
            is_siege=_flag(row["is_siege"]),
            is_active=_flag(row["is_active"]),
            is_diffusible=True,
            name=row["name"],
            street_number=row["street_number"],
            street_number_suffix=row["street_number_suffix"],
            street_type=row["street_type"],
            street_name=row["street_name"],
            address_complement=row["address_complement"],
            postal_code=row["postal_code"],
            city=row["city"],
            commune_code=row["commune_code"],
            departement=departement_of_commune(row["commune_code"]),
            cedex_code=row["cedex_code"],
            cedex_label=row["cedex_label"],
            activity=row["activity"],
        )
        for row in rows
    ]
    Establishment.objects.bulk_create(
        establishments, update_conflicts=True, unique_fields=["siret"], update_fields=ESTABLISHMENT_FIELDS
    )
    return len(units), [establishment.siret for establishment in establishments]


@transaction.atomic
def load_demo_organisations() -> dict[str, int]:
    """Upsert every commune as a legal unit, then the demo public bodies, and index the latter.

    The communes go first so that the demo rows, which carry SIRENE's exact names, win.
    """
    communes = upsert_commune_legal_units()
    legal_units, sirets = upsert_demo_establishments()
    refresh_search_index(sirets=sirets)
    return {"communes": communes, "legal_units": legal_units, "establishments": len(sirets)}
