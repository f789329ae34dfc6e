from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from organisations.importer import SireneImportError, format_count, format_duration, import_sirene
from organisations.models import Establishment


class Command(BaseCommand):
    help = (
        "Importe les fichiers stock SIRENE de l'INSEE (StockUniteLegale, StockEtablissement ; CSV ou "
        "ZIP) à la place des unités légales et des établissements du miroir. La recherche continue "
        "de répondre pendant l'import."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--unites-legales", type=Path, metavar="FICHIER", help="StockUniteLegale_utf8 (.csv ou .zip)."
        )
        parser.add_argument(
            "--etablissements", type=Path, metavar="FICHIER", help="StockEtablissement_utf8 (.csv ou .zip)."
        )
        parser.add_argument(
            "--actifs-seulement",
            action="store_true",
            help="Ne garder que les établissements ouverts et les unités légales actives.",
        )
        parser.add_argument(
            "--sieges-seulement", action="store_true", help="Ne garder que les établissements sièges."
        )

    def handle(self, *args, unites_legales=None, etablissements=None, verbosity=1, **options):
        try:
            summary = import_sirene(
                units_path=unites_legales,
                establishments_path=etablissements,
                active_only=options["actifs_seulement"],
                head_offices_only=options["sieges_seulement"],
                write=(lambda text: self.stderr.write(text, ending="")) if verbosity else None,
                interactive=self.stderr.isatty(),
            )
        except SireneImportError as error:
            raise CommandError(f"{error} Les tables en service n'ont pas été modifiées.") from error
        for loaded in summary.files:
            self.stdout.write(
                f"{loaded.stock.label.capitalize()} : {format_count(loaded.imported)} lignes importées "
                f"sur {format_count(loaded.rows)} lues."
            )
        for table, rows in summary.kept.items():
            if rows:
                self.stdout.write(
                    f"{table} : {format_count(rows)} lignes absentes du fichier gardées, car des inscriptions y sont rattachées."
                )
        establishments = sum(
            loaded.imported for loaded in summary.files if loaded.stock.model is Establishment
        )
        rows = establishments or sum(loaded.imported for loaded in summary.files)
        what = "établissements" if establishments else "lignes"
        self.stdout.write(
            self.style.SUCCESS(
                f"Import terminé en {format_duration(summary.seconds)} : "
                f"{format_count(rows / max(summary.seconds, 1e-6))} {what}/s."
            )
        )
