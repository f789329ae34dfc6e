import importlib

import pytest
from django.apps import apps

from organisations.models import Category, CategoryFlag, Function
from organisations.referentials import (
    activity_label,
    departement_choices,
    departement_name,
    departement_of_commune,
    read_csv,
)


def test_departement_choices_list_every_departement_in_file_order():
    choices = departement_choices()
    codes = [code for code, _label in choices]

    assert len(choices) == 109
    assert choices[0] == ("01", "01 - Ain")
    assert ("54", "54 - Meurthe-et-Moselle") in choices
    assert codes[codes.index("29") + 1 : codes.index("29") + 4] == ["2A", "2B", "30"]
    assert ("971", "971 - Guadeloupe") in choices
    assert ("976", "976 - Mayotte") in choices


def test_departement_choices_are_a_fresh_list_each_time():
    departement_choices().clear()

    assert len(departement_choices()) == 109


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("54", "Meurthe-et-Moselle"),
        ("2A", "Corse-du-Sud"),
        ("2b", "Haute-Corse"),
        ("974", "La Réunion"),
        ("20", ""),
        ("", ""),
    ],
)
def test_departement_name(code, name):
    assert departement_name(code) == name


@pytest.mark.parametrize(
    ("naf_code", "label"),
    [
        ("84.11Z", "Administration publique générale"),
        ("8411Z", "Administration publique générale"),
        (" 84.11z ", "Administration publique générale"),
        ("84.13Z", "Administration publique (tutelle) des activités économiques"),
        ("88.99B", "Action sociale sans hébergement n.c.a."),
        ("99.99Z", ""),
        ("", ""),
    ],
)
def test_activity_label(naf_code, label):
    assert activity_label(naf_code) == label


@pytest.mark.parametrize(
    ("commune_code", "departement"),
    [
        ("54395", "54"),
        ("2A004", "2A"),
        ("2B033", "2B"),
        ("2a004", "2A"),
        ("97101", "971"),
        ("97411", "974"),
        ("97502", "975"),
        ("98735", "987"),
        ("75104", "75"),
        ("13202", "13"),
        ("", ""),
    ],
)
def test_departement_of_commune(commune_code, departement):
    assert departement_of_commune(commune_code) == departement


def test_every_commune_is_in_its_departement():
    communes = read_csv("communes.csv")

    assert len(communes) == 35014
    for commune in communes:
        assert departement_of_commune(commune["code"]) == commune["departement"], commune
        assert departement_name(commune["departement"]), commune


@pytest.mark.django_db
def test_the_seeded_categories_functions_and_flags_follow_the_anru_form():
    # Seeding again is harmless, and puts the rows back if a transactional test flushed them.
    importlib.import_module("organisations.migrations.0002_seed_categories_and_functions").seed(apps, None)

    assert list(Category.objects.values_list("name", flat=True)) == [
        "Délégations territoriales de l'ANRU",
        "Maîtres d'ouvrages",
        "Partenaires",
        "Porteurs de projets",
        "Prestataires",
        "Services régionaux de l'Etat",
    ]
    delegations = Category.objects.get(name="Délégations territoriales de l'ANRU")
    assert list(delegations.functions.values_list("name", flat=True)) == [
        "Chargés de mission et fonctions support Préfecture",
        "Chef de service",
        "Directeur adjoint DDT/DDTM",
        "Directeur DDT/DDTM",
        "Instructeur",
        "Préfet de département",
        "Préfet délégué à égalité des chances",
        "Sous-préfet",
        "Autre",
    ]
    for category in Category.objects.all():
        assert 4 <= category.functions.count() - 1 <= 8, category
        assert category.functions.last().name == "Autre", category
    maitres_d_ouvrages = Category.objects.get(name="Maîtres d'ouvrages")
    assert maitres_d_ouvrages.functions.first().name == "Chargé de mission maîtres d'ouvrages"
    assert maitres_d_ouvrages.help_text.startswith("Attention à bien sélectionner la catégorie")
    quartiers_fertiles = CategoryFlag.objects.get(label="Quartiers Fertiles")
    assert list(quartiers_fertiles.categories.all()) == [maitres_d_ouvrages]
    assert quartiers_fertiles.help_text == (
        "À l'attention des maîtres d'ouvrages Quartiers Fertiles : cochez cette case."
    )


@pytest.mark.django_db
def test_the_seed_migration_reverses_to_nothing():
    migration = importlib.import_module("organisations.migrations.0002_seed_categories_and_functions")
    migration.seed(apps, None)

    migration.unseed(apps, None)

    assert not Category.objects.filter(name__in=[name for name, *_rest in migration.CATEGORIES]).exists()
    assert not Function.objects.filter(category__name="Maîtres d'ouvrages").exists()
    assert not CategoryFlag.objects.filter(label="Quartiers Fertiles").exists()
