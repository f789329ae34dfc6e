"""Client numbers: the staff's CSV import and the lookup the signup wizard uses."""

import csv
import io
import re
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siren as siren_number
from stdnum.fr import siret as siret_number

from organisations.models import ClientNumber
from portal import audit

HEADERS = {
    "number": {"numero_client", "numéro_client", "numero client", "numéro client", "client", "numero"},
    "identifier": {"siren_ou_siret", "siren", "siret", "siren/siret", "siren ou siret"},
    "name": {"nom", "raison_sociale", "denomination", "dénomination", "name"},
}


def normalize_client_number(value: str) -> str:
    """Spaces and leading zeros typed by the user are ignored: " 000 123 " → "123"."""
    compact = re.sub(r"\s", "", value or "")
    return compact.lstrip("0") or ("0" if compact else "")


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # line, content, reason


def _columns(header: list[str]) -> dict[str, int]:
    positions = {}
    for index, title in enumerate(header):
        key = title.strip().lower()
        for column, aliases in HEADERS.items():
            if key in aliases and column not in positions:
                positions[column] = index
    return positions


def import_client_numbers(*, data: bytes, by=None, request=None) -> ImportReport:
    """Upsert the rows of a CSV (client number, SIREN or SIRET, name); report the rejected lines.

    The first line names the columns; ';' or ',' separate them; UTF-8 (with or without BOM) or
    Latin-1. A rejected line changes nothing; the others are saved together.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    report = ImportReport()
    if not text.strip():
        report.rejected.append((0, "", _("Le fichier est vide.")))
        return report
    first_line = text.splitlines()[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    columns = _columns(rows[0])
    if "number" not in columns or "identifier" not in columns:
        report.rejected.append(
            (
                1,
                first_line[:200],
                _("La première ligne doit nommer les colonnes numero_client, siren_ou_siret et nom."),
            )
        )
        return report
    seen = set()
    valid = []
    for line_number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        content = delimiter.join(row)[:200]

        def cell(column, row=row):
            index = columns.get(column)
            return row[index].strip() if index is not None and index < len(row) else ""

        number = normalize_client_number(cell("number"))
        identifier = re.sub(r"\s", "", cell("identifier"))
        if not number or len(number) > 30:
            report.rejected.append((line_number, content, _("Numéro client absent ou trop long.")))
            continue
        if number in seen:
            report.rejected.append((line_number, content, _("Numéro client en double dans le fichier.")))
            continue
        try:
            if len(identifier) == 14:
                siret = siret_number.validate(identifier)
                siren = siret[:9]
            else:
                siren, siret = siren_number.validate(identifier), ""
        except StdnumError:
            report.rejected.append(
                (
                    line_number,
                    content,
                    _("SIREN ou SIRET invalide : %(value)s.") % {"value": identifier or "—"},
                )
            )
            continue
        seen.add(number)
        valid.append(ClientNumber(number=number, siren=siren, siret=siret, name=cell("name")[:255]))
    with transaction.atomic():
        existing = set(ClientNumber.objects.filter(number__in=seen).values_list("number", flat=True))
        ClientNumber.objects.bulk_create(
            valid,
            update_conflicts=True,
            unique_fields=["number"],
            update_fields=["siren", "siret", "name", "imported_at"],
        )
        report.created = len(valid) - len(existing)
        report.updated = len(existing)
        audit.record(
            "client_numbers.imported",
            actor=by,
            request=request,
            details={"created": report.created, "updated": report.updated, "rejected": len(report.rejected)},
        )
    return report


def find_client_number(typed: str) -> ClientNumber | None:
    number = normalize_client_number(typed)
    return ClientNumber.objects.filter(number=number).first() if number else None
