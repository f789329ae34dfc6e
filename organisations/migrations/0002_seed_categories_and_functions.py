"""Seed the applicants' categories, function-types and boxes from ANRU's signup form.

The ANRU guide « Créer son compte utilisateur ANRU » lists the six categories, the functions of the
"Délégations territoriales de l'ANRU", one function of the "Maîtres d'ouvrages" and the
"Quartiers Fertiles" box; the other functions are plausible starting points. Staff edit all of
them in the admin afterwards, so the strings are data, in French, not translatable messages.
"""

from django.db import migrations

MAITRES_D_OUVRAGES = "Maîtres d'ouvrages"
OTHER_FUNCTION = "Autre"

CATEGORIES = [
    (
        "Délégations territoriales de l'ANRU",
        "",
        [
            "Chargés de mission et fonctions support Préfecture",
            "Chef de service",
            "Directeur adjoint DDT/DDTM",
            "Directeur DDT/DDTM",
            "Instructeur",
            "Préfet de département",
            "Préfet délégué à égalité des chances",
            "Sous-préfet",
        ],
    ),
    (
        MAITRES_D_OUVRAGES,
        "Attention à bien sélectionner la catégorie qui correspond au rôle qui vous lie à l'ANRU via "
        "votre convention, contrat, délégation… Si vous avez des difficultés à choisir une catégorie, "
        "contactez le support.",
        [
            "Chargé de mission maîtres d'ouvrages",
            "Directeur général",
            "Directeur du renouvellement urbain",
            "Chef de projet renouvellement urbain",
            "Responsable financier",
        ],
    ),
    (
        "Partenaires",
        "",
        [
            "Directeur",
            "Chargé de mission",
            "Responsable territorial",
            "Chargé d'études",
        ],
    ),
    (
        "Porteurs de projets",
        "",
        [
            "Maire",
            "Président d'EPCI",
            "Directeur général des services",
            "Directeur de projet renouvellement urbain",
            "Chef de projet politique de la ville",
            "Chargé de mission",
        ],
    ),
    (
        "Prestataires",
        "",
        [
            "Consultant",
            "Chef de projet",
            "Assistant à maîtrise d'ouvrage",
            "Urbaniste",
        ],
    ),
    (
        "Services régionaux de l'Etat",
        "",
        [
            "Directeur régional",
            "Chef de service",
            "Chargé de mission",
            "Instructeur",
        ],
    ),
]

FLAGS = [
    (
        "Quartiers Fertiles",
        "À l'attention des maîtres d'ouvrages Quartiers Fertiles : cochez cette case.",
        [MAITRES_D_OUVRAGES],
    ),
]

# Room between positions, so that staff can slot a new entry in without renumbering.
STEP = 10


def seed(apps, schema_editor):
    Category = apps.get_model("organisations", "Category")
    Function = apps.get_model("organisations", "Function")
    CategoryFlag = apps.get_model("organisations", "CategoryFlag")
    categories = {}
    for category_index, (name, help_text, functions) in enumerate(CATEGORIES, start=1):
        category, _created = Category.objects.update_or_create(
            name=name, defaults={"help_text": help_text, "position": category_index * STEP}
        )
        categories[name] = category
        for function_index, function in enumerate([*functions, OTHER_FUNCTION], start=1):
            Function.objects.update_or_create(
                category=category, name=function, defaults={"position": function_index * STEP}
            )
    for label, help_text, category_names in FLAGS:
        flag, _created = CategoryFlag.objects.update_or_create(label=label, defaults={"help_text": help_text})
        for category_name in category_names:
            categories[category_name].flags.add(flag)


def unseed(apps, schema_editor):
    Category = apps.get_model("organisations", "Category")
    CategoryFlag = apps.get_model("organisations", "CategoryFlag")
    CategoryFlag.objects.filter(label__in=[label for label, _help_text, _categories in FLAGS]).delete()
    # Their functions go with them (on_delete=CASCADE).
    Category.objects.filter(name__in=[name for name, _help_text, _functions in CATEGORIES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("organisations", "0001_sirene_mirror_and_memberships"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
    ]
