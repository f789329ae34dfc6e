"""The catalogue of services described by the references (bdt-services-en-ligne-inscription.txt,
DESIGN §5). Staff edit it in the admin."""

from django.db import migrations

SERVICES = [
    ("Création de demandes de prêts", "Saisir et déposer des demandes de prêts sur fonds d'épargne.", True),
    ("Validation de demandes de prêts", "Valider les demandes de prêts saisies dans votre structure avant leur envoi.", True),
    ("Consultation des dossiers", "Suivre l'instruction des dossiers de prêts de votre structure.", False),
    ("Consultation des encours", "Consulter les encours, les échéanciers et les versements de vos prêts.", False),
    ("Documents", "Retrouver les contrats, avenants et courriers de vos prêts.", False),
    ("Dataviz Cœur de ville", "Explorer les indicateurs des territoires du programme Action cœur de ville.", False),
]


def seed(apps, schema_editor):
    Service = apps.get_model("habilitations", "Service")
    for position, (name, description, requires_function) in enumerate(SERVICES, start=1):
        Service.objects.get_or_create(
            name=name,
            defaults={"description": description, "requires_function": requires_function, "position": position},
        )


class Migration(migrations.Migration):
    dependencies = [("habilitations", "0001_services_and_habilitations")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
