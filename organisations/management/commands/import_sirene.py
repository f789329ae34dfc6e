from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from organisations.importer import (
    ESTABLISHMENTS,
    SireneImportError,
    format_count,
    format_duration,
    import_sirene,
)


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
            raise CommandError(
                _("%(error)s Les tables en service n'ont pas été modifiées.") % {"error": error}
            ) from error
        for loaded in summary.files:
            self.stdout.write(
                ngettext(
                    "%(label)s : %(imported)s ligne importée sur %(read)s lues.",
                    "%(label)s : %(imported)s lignes importées sur %(read)s lues.",
                    loaded.imported,
                )
                % {
                    "label": loaded.stock.label.capitalize(),
                    "imported": format_count(loaded.imported),
                    "read": format_count(loaded.rows),
                }
            )
        for label, rows in summary.kept.items():
            if rows:
                self.stdout.write(
                    ngettext(
                        "%(label)s : %(rows)s ligne absente du fichier gardée, car des inscriptions y sont rattachées.",
                        "%(label)s : %(rows)s lignes absentes du fichier gardées, car des inscriptions y sont rattachées.",
                        rows,
                    )
                    % {"label": label.capitalize(), "rows": format_count(rows)}
                )
        establishments = sum(loaded.imported for loaded in summary.files if loaded.stock is ESTABLISHMENTS)
        rate = (establishments or sum(loaded.imported for loaded in summary.files)) / max(
            summary.seconds, 1e-6
        )
        self.stdout.write(
            self.style.SUCCESS(
                _("Import terminé en %(seconds)s : %(rate)s %(what)s/s.")
                % {
                    "seconds": format_duration(summary.seconds),
                    "rate": format_count(rate),
                    "what": _("établissements") if establishments else _("lignes"),
                }
            )
        )
