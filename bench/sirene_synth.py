"""A SIRENE-shaped synthetic register: the two stock files, with realistic names and real places.

    python bench/sirene_synth.py --rows 2000000 --out var/bench

Writes StockUniteLegale_utf8.csv and StockEtablissement_utf8.csv with the official 3.11 headers;
places (commune names, codes and postal codes) come from organisations/data/communes.csv. The same
--seed gives the same files.
"""

import argparse
import csv
import random
from pathlib import Path

from stdnum import luhn

BASE_DIR = Path(__file__).resolve().parent.parent

UNIT_HEADER = (
    "siren,statutDiffusionUniteLegale,unitePurgeeUniteLegale,dateCreationUniteLegale,sigleUniteLegale,"
    "sexeUniteLegale,prenom1UniteLegale,prenom2UniteLegale,prenom3UniteLegale,prenom4UniteLegale,"
    "prenomUsuelUniteLegale,pseudonymeUniteLegale,identifiantAssociationUniteLegale,"
    "trancheEffectifsUniteLegale,anneeEffectifsUniteLegale,dateDernierTraitementUniteLegale,"
    "nombrePeriodesUniteLegale,categorieEntreprise,anneeCategorieEntreprise,dateDebut,"
    "etatAdministratifUniteLegale,nomUniteLegale,nomUsageUniteLegale,denominationUniteLegale,"
    "denominationUsuelle1UniteLegale,denominationUsuelle2UniteLegale,denominationUsuelle3UniteLegale,"
    "categorieJuridiqueUniteLegale,activitePrincipaleUniteLegale,nomenclatureActivitePrincipaleUniteLegale,"
    "nicSiegeUniteLegale,economieSocialeSolidaireUniteLegale,societeMissionUniteLegale,"
    "caractereEmployeurUniteLegale,activitePrincipaleNAF25UniteLegale"
).split(",")
ESTABLISHMENT_HEADER = (
    "siren,nic,siret,statutDiffusionEtablissement,dateCreationEtablissement,trancheEffectifsEtablissement,"
    "anneeEffectifsEtablissement,activitePrincipaleRegistreMetiersEtablissement,"
    "dateDernierTraitementEtablissement,etablissementSiege,nombrePeriodesEtablissement,"
    "complementAdresseEtablissement,numeroVoieEtablissement,indiceRepetitionEtablissement,"
    "dernierNumeroVoieEtablissement,indiceRepetitionDernierNumeroVoieEtablissement,typeVoieEtablissement,"
    "libelleVoieEtablissement,codePostalEtablissement,libelleCommuneEtablissement,"
    "libelleCommuneEtrangerEtablissement,distributionSpecialeEtablissement,codeCommuneEtablissement,"
    "codeCedexEtablissement,libelleCedexEtablissement,codePaysEtrangerEtablissement,"
    "libellePaysEtrangerEtablissement,identifiantAdresseEtablissement,coordonneeLambertAbscisseEtablissement,"
    "coordonneeLambertOrdonneeEtablissement,complementAdresse2Etablissement,numeroVoie2Etablissement,"
    "indiceRepetition2Etablissement,typeVoie2Etablissement,libelleVoie2Etablissement,codePostal2Etablissement,"
    "libelleCommune2Etablissement,libelleCommuneEtranger2Etablissement,distributionSpeciale2Etablissement,"
    "codeCommune2Etablissement,codeCedex2Etablissement,libelleCedex2Etablissement,codePaysEtranger2Etablissement,"
    "libellePaysEtranger2Etablissement,dateDebut,etatAdministratifEtablissement,enseigne1Etablissement,"
    "enseigne2Etablissement,enseigne3Etablissement,denominationUsuelleEtablissement,"
    "activitePrincipaleEtablissement,nomenclatureActivitePrincipaleEtablissement,"
    "caractereEmployeurEtablissement,activitePrincipaleNAF25Etablissement"
).split(",")

SURNAMES = (
    "MARTIN BERNARD THOMAS PETIT ROBERT RICHARD DURAND DUBOIS MOREAU LAURENT SIMON MICHEL LEFEBVRE "
    "LEROY ROUX DAVID BERTRAND MOREL FOURNIER GIRARD BONNET DUPONT LAMBERT FONTAINE ROUSSEAU VINCENT "
    "MULLER LEFEVRE FAURE ANDRE MERCIER BLANC GUERIN BOYER GARNIER CHEVALIER FRANCOIS LEGRAND GAUTHIER "
    "GARCIA PERRIN ROBIN CLEMENT MORIN NICOLAS HENRY ROUSSEL MATHIEU GAUTIER MASSON MARCHAND DUVAL"
).split()
TRADES = "BTP CONSEIL IMMOBILIER TRANSPORTS BOULANGERIE PLOMBERIE ELECTRICITE INFORMATIQUE COMMERCE SERVICES".split()
FORMS = ["SARL", "SAS", "SASU", "EURL", "ET FILS", "ET ASSOCIES", "HOLDING"]
SYNDICATES = [
    "DES EAUX",
    "D'ELECTRICITE",
    "SCOLAIRE",
    "D'ASSAINISSEMENT",
    "DE COLLECTE DES DECHETS",
    "A VOCATION MULTIPLE",
]
ASSOCIATIONS = [
    "SPORTIVE",
    "CULTURELLE",
    "DES PARENTS D'ELEVES",
    "DES AMIS",
    "DE CHASSE",
    "DU COMITE DES FETES",
]
STREET_TYPES = ["RUE", "AV", "BD", "PL", "CHE", "ALL", "IMP", "RTE"]
STREETS = [
    "DE LA REPUBLIQUE",
    "VICTOR HUGO",
    "JEAN JAURES",
    "DE LA MAIRIE",
    "DE L'EGLISE",
    "DU GENERAL DE GAULLE",
    "PASTEUR",
    "DES ECOLES",
]


def load_places() -> list[tuple[str, str, str, str]]:
    """(commune code, NAME, first postal code, commune SIREN) of every commune."""
    places = []
    with (BASE_DIR / "organisations" / "data" / "communes.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["codes_postaux"] and row["siren"]:
                places.append(
                    (row["code"], row["nom"].upper(), row["codes_postaux"].split()[0], row["siren"])
                )
    return places


def with_check_digit(digits: str) -> str:
    return digits + luhn.calc_check_digit(digits)


def unit_name(rng: random.Random, place) -> tuple[str, str, str, str]:
    """(denomination, sigle, legal category, NAF) of a made-up legal unit in a place."""
    town = place[1]
    roll = rng.random()
    if roll < 0.05:
        return f"SYNDICAT INTERCOMMUNAL {rng.choice(SYNDICATES)} DE {town}", "SI", "7354", "84.11Z"
    if roll < 0.20:
        return (
            f"SCI {rng.choice(SURNAMES)} {rng.choice(['PATRIMOINE', 'INVEST', 'DU MOULIN', 'LES TILLEULS'])}",
            "",
            "6540",
            "68.20B",
        )
    if roll < 0.40:
        return f"ASSOCIATION {rng.choice(ASSOCIATIONS)} DE {town}", "", "9220", "94.99Z"
    if roll < 0.43:
        return f"CCAS DE {town}", "CCAS", "7361", "88.99B"
    if roll < 0.45:
        return f"{town} HABITAT OPH", "OPH", "4140", "68.20A"
    return (
        f"{rng.choice(SURNAMES)} {rng.choice(TRADES)} {rng.choice(FORMS)}",
        "",
        rng.choice(["5499", "5710", "5720"]),
        "43.21A",
    )


def generate(rows: int, out: Path, seed: int = 2026) -> tuple[Path, Path]:
    rng = random.Random(seed)
    places = load_places()
    out.mkdir(parents=True, exist_ok=True)
    units_path = out / "StockUniteLegale_utf8.csv"
    establishments_path = out / "StockEtablissement_utf8.csv"
    unit_index = {name: index for index, name in enumerate(UNIT_HEADER)}
    establishment_index = {name: index for index, name in enumerate(ESTABLISHMENT_HEADER)}
    with (
        units_path.open("w", newline="", encoding="utf-8") as units_file,
        establishments_path.open("w", newline="", encoding="utf-8") as establishments_file,
    ):
        units = csv.writer(units_file)
        establishments = csv.writer(establishments_file)
        units.writerow(UNIT_HEADER)
        establishments.writerow(ESTABLISHMENT_HEADER)
        written, serial = 0, 0
        # Every commune first, as in the real register (legal category 7210, its real SIREN).
        for place in places:
            if written >= rows:
                break
            written += _write_unit(units, establishments, unit_index, establishment_index, rng, place[3], place,
                                   (f"COMMUNE DE {place[1]}", "", "7210", "84.11Z"), 1, rows - written, places)  # fmt: skip
        while written < rows:
            serial += 1
            place = rng.choice(places)
            siren = with_check_digit(f"9{serial:07d}")  # no collision with real communes (2…)
            count = 1 if rng.random() < 0.8 else rng.randint(2, 6)
            written += _write_unit(units, establishments, unit_index, establishment_index, rng, siren, place,
                                   unit_name(rng, place), count, rows - written, places)  # fmt: skip
    return units_path, establishments_path


def _write_unit(
    units, establishments, unit_index, establishment_index, rng, siren, place, naming, count, room, places
):
    denomination, sigle, category, naf = naming
    active_unit = rng.random() > 0.08
    unit = [""] * len(UNIT_HEADER)
    unit[unit_index["siren"]] = siren
    unit[unit_index["statutDiffusionUniteLegale"]] = "O"
    unit[unit_index["denominationUniteLegale"]] = denomination
    unit[unit_index["sigleUniteLegale"]] = sigle
    unit[unit_index["categorieJuridiqueUniteLegale"]] = category
    unit[unit_index["activitePrincipaleUniteLegale"]] = naf
    unit[unit_index["nicSiegeUniteLegale"]] = with_check_digit(siren + "0001")[9:]
    unit[unit_index["etatAdministratifUniteLegale"]] = "A" if active_unit else "C"
    unit[unit_index["dateDernierTraitementUniteLegale"]] = "2025-06-01T00:00:00"
    units.writerow(unit)
    written = 0
    for number in range(min(count, room)):
        where = place if number == 0 else rng.choice(places)
        siret = with_check_digit(f"{siren}{number + 1:04d}")
        row = [""] * len(ESTABLISHMENT_HEADER)
        row[establishment_index["siren"]] = siren
        row[establishment_index["nic"]] = siret[9:]
        row[establishment_index["siret"]] = siret
        row[establishment_index["statutDiffusionEtablissement"]] = "P" if rng.random() < 0.03 else "O"
        row[establishment_index["dateDernierTraitementEtablissement"]] = "2025-06-01T00:00:00"
        row[establishment_index["etablissementSiege"]] = "true" if number == 0 else "false"
        row[establishment_index["numeroVoieEtablissement"]] = str(rng.randint(1, 120))
        row[establishment_index["typeVoieEtablissement"]] = rng.choice(STREET_TYPES)
        row[establishment_index["libelleVoieEtablissement"]] = rng.choice(STREETS)
        row[establishment_index["codePostalEtablissement"]] = where[2]
        row[establishment_index["libelleCommuneEtablissement"]] = where[1]
        row[establishment_index["codeCommuneEtablissement"]] = where[0]
        if rng.random() < 0.02:
            row[establishment_index["codeCedexEtablissement"]] = where[2][:2] + "9" + where[2][3:]
            row[establishment_index["libelleCedexEtablissement"]] = f"{where[1]} CEDEX"
        row[establishment_index["etatAdministratifEtablissement"]] = (
            "A" if active_unit and rng.random() > 0.1 else "F"
        )
        if rng.random() < 0.1:
            row[establishment_index["enseigne1Etablissement"]] = f"{rng.choice(TRADES)} {where[1]}"
        row[establishment_index["activitePrincipaleEtablissement"]] = naf
        row[establishment_index["nomenclatureActivitePrincipaleEtablissement"]] = "NAFRev2"
        establishments.writerow(row)
        written += 1
    return written


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="établissements à écrire")
    parser.add_argument("--out", type=Path, default=BASE_DIR / "var" / "bench")
    parser.add_argument("--seed", type=int, default=2026)
    arguments = parser.parse_args()
    units, establishments = generate(arguments.rows, arguments.out, arguments.seed)
    print(f"{establishments} ({arguments.rows} établissements), {units}")


if __name__ == "__main__":
    main()
