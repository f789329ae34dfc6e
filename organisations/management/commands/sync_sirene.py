from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from organisations import sync
from organisations.sirene_api import SireneAPIError


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since attend une date AAAA-MM-JJ, pas {value!r}.") from None


class Command(BaseCommand):
    help = (
        "Met à jour le miroir SIRENE par l'API Sirene de l'INSEE : unités légales et établissements "
        "traités depuis --since (ce jour compris)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since",
            type=_day,
            help="AAAA-MM-JJ. Par défaut : le jour du dernier traitement présent dans le miroir, sinon hier.",
        )

    def handle(self, *args, since=None, verbosity=1, **options):
        if not settings.INSEE_API_KEY:
            raise CommandError(
                "La variable d'environnement INSEE_API_KEY n'est pas définie : la synchronisation passe "
                "par l'API Sirene de l'INSEE, qui demande une clé (portail des API de l'INSEE, "
                "abonnement à l'API Sirene)."
            )
        since = since or sync.default_since()
        self.stdout.write(
            f"Synchronisation SIRENE : changements traités par l'INSEE depuis le {since:%d/%m/%Y}."
        )
        on_page = self._progress if verbosity >= 2 else None
        try:
            report = sync.sync_from_insee(since=since, on_page=on_page)
        except sync.SyncAlreadyRunning as error:
            raise CommandError(str(error)) from error
        except SireneAPIError as error:
            raise CommandError(
                f"{error} Pour reprendre : manage.py sync_sirene --since {since.isoformat()}"
            ) from error
        for line in report.lines():
            self.stdout.write(line)

    def _progress(self, report: sync.SyncReport) -> None:
        self.stdout.write(
            f"  page {report.pages} : {report.establishments_created + report.establishments_updated} "
            "établissements enregistrés"
        )
