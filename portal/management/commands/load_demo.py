from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from organisations.demo import load_demo_organisations

DEMO_STAFF_IDENTIFIANT = "agent.demo"
DEMO_STAFF_PASSWORD = "Agent-demo-2026"  # noqa: S105 (printed by make run, refused in production)


class Command(BaseCommand):
    help = "Charge les données de démonstration (idempotent). Refusé hors DEBUG."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("Les données de démonstration ne se chargent qu'avec DEBUG=true.")
        with transaction.atomic():
            staff, created = User.objects.get_or_create(
                identifiant=DEMO_STAFF_IDENTIFIANT,
                defaults={
                    "email": "agent.demo@portail.localhost",
                    "first_name": "Agnès",
                    "last_name": "Démo",
                    "civilite": "mme",
                    "is_staff": True,
                    "is_superuser": True,
                },
            )
            if created:
                staff.set_password(DEMO_STAFF_PASSWORD)
                staff.save(update_fields=["password"])
        verb = "créé" if created else "déjà présent"
        self.stdout.write(f"Agent de démonstration {DEMO_STAFF_IDENTIFIANT} : {verb}.")
        counts = load_demo_organisations()
        self.stdout.write(
            f"Organisations : {counts['communes']} communes, {counts['legal_units']} organismes publics "
            f"et {counts['establishments']} établissements de démonstration."
        )
