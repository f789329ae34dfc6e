import uuid

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from mailings.services import queue_email


class Command(BaseCommand):
    help = "Met en file un courriel de test, pour vérifier la configuration d'envoi (EMAIL_URL)."

    def add_arguments(self, parser):
        parser.add_argument("to", help="adresse du destinataire")

    def handle(self, *args, to, **options):
        try:
            validate_email(to)
        except ValidationError:
            raise CommandError(f"Adresse invalide : {to!r}") from None
        reference = uuid.uuid4().hex[:8]
        with transaction.atomic():
            email = queue_email(to=to, template="test_message", context={"reference": reference})
        self.stdout.write(f"Courriel {email.pk} en file pour {to} (référence {reference}).")
