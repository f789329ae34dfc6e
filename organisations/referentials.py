"""Readers of the administrative reference files in organisations/data/ (see its README).

The files are small and never change while the process runs: each is read once, on first use.
"""

import csv
import re
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
_NAF_WITHOUT_DOT = re.compile(r"\d{4}[A-Z]")


def read_csv(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


@cache
def _departements() -> dict[str, str]:
    return {row["code"]: row["nom"] for row in read_csv("departements.csv")}


@cache
def _activities() -> dict[str, str]:
    return {row["code"]: row["label"] for row in read_csv("naf_rev2.csv")}


def departement_choices() -> list[tuple[str, str]]:
    """Every département in the file's order, as (code, "54 - Meurthe-et-Moselle") for a select."""
    return [(code, f"{code} - {name}") for code, name in _departements().items()]


def departement_name(code: str) -> str:
    """The name of a département ("Meurthe-et-Moselle" for "54"), or "" for an unknown code."""
    return _departements().get((code or "").strip().upper(), "")


def activity_label(naf_code: str) -> str:
    """The French label of a NAF rev. 2 code ("84.11Z", or "8411Z" as some files write it)."""
    code = (naf_code or "").strip().upper()
    if _NAF_WITHOUT_DOT.fullmatch(code):
        code = f"{code[:2]}.{code[2:]}"
    return _activities().get(code, "")


def departement_of_commune(commune_code: str) -> str:
    """The département of a commune code (COG): "54" for 54395, "2A" for 2A004, "971" for 97101.

    Overseas codes (97x, and 98x for the collectivities of the Pacific and the TAAF) have three
    characters, as in departements.csv; the postal code would be wrong for Corsica (20…).
    """
    code = (commune_code or "").strip().upper()
    if code.startswith(("97", "98")):
        return code[:3]
    return code[:2]
