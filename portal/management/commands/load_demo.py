from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from habilitations.models import Service
from habilitations.services import request_habilitations
from organisations.demo import load_demo_organisations
from organisations.enums import MembershipStatus, OnboardingRule
from organisations.models import Category, ClientNumber, Establishment, Membership

DEMO_STAFF_IDENTIFIANT = "agent.demo"
DEMO_STAFF_PASSWORD = "Agent-demo-2026"  # noqa: S105 (printed by make run, refused in production)
# The administrator of one demo organisation, with a registration waiting for them.
DEMO_ADMIN_IDENTIFIANT = "admin.demo"
DEMO_ADMIN_PASSWORD = "Admin-demo-2026"  # noqa: S105 (printed by make run, refused in production)
DEMO_ORGANISATION_SIRET = "13001046500032"  # DDT de Meurthe-et-Moselle
DEMO_CLIENT_NUMBER = "54001"


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
        with transaction.atomic():
            created = self._load_demo_organisation_admin()
        verb = "créé" if created else "déjà présent"
        self.stdout.write(
            f"Administrateur de structure {DEMO_ADMIN_IDENTIFIANT} ({DEMO_ORGANISATION_SIRET}, "
            f"numéro client {DEMO_CLIENT_NUMBER}) : {verb}."
        )

    def _load_demo_organisation_admin(self) -> bool:
        """An organisation with its admin and one registration waiting for them (rule R1)."""
        establishment = Establishment.objects.select_related("legal_unit").get(pk=DEMO_ORGANISATION_SIRET)
        ClientNumber.objects.get_or_create(
            number=DEMO_CLIENT_NUMBER,
            defaults={"siren": establishment.legal_unit_id, "name": establishment.legal_unit.denomination},
        )
        category = Category.objects.get(name="Services régionaux de l'Etat")
        people = [
            (
                DEMO_ADMIN_IDENTIFIANT,
                "Bernard",
                "Lefèvre",
                "m",
                {"is_admin": True, "status": MembershipStatus.APPROVED},
            ),
            ("membre.demo", "Léa", "Garnier", "mme", {"status": MembershipStatus.PENDING_ADMIN}),
        ]
        created_any = False
        for identifiant, first_name, last_name, civilite, membership in people:
            user, created = User.objects.get_or_create(
                identifiant=identifiant,
                defaults={
                    "email": f"{identifiant}@portail.localhost",
                    "first_name": first_name,
                    "last_name": last_name,
                    "civilite": civilite,
                },
            )
            if created:
                user.set_password(DEMO_ADMIN_PASSWORD)
                user.save(update_fields=["password", "password_changed_at"])
                created_any = True
            member, _ = Membership.objects.get_or_create(
                user=user,
                legal_unit=establishment.legal_unit,
                defaults={
                    "establishment": establishment,
                    "rule": OnboardingRule.R3_DELEGATED_ADMIN
                    if membership.get("is_admin")
                    else OnboardingRule.R1_ORGANISATION_ADMIN,
                    "category": category,
                    "function": category.functions.first(),
                    "title": "Chef de service" if membership.get("is_admin") else "Chargée de mission",
                    "departement": establishment.departement,
                    "address": establishment.street_address,
                    "postal_code": establishment.postal_code,
                    "city": establishment.city,
                    "email": user.email,
                    "phone_landline": "+33383000000",
                    "cgu_version": settings.PORTAL_CGU_VERSION,
                    **membership,
                },
            )
            if not membership.get("is_admin"):
                request_habilitations(
                    membership=member, services=Service.objects.filter(is_active=True)[:2], by=user
                )
        return created_any
