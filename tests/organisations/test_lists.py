"""The lists each process keeps for the forms (organisations.lists): read once, cleared by a change,
at most a minute old when the change was made by another process, and never trusted to validate."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from organisations import lists
from organisations.models import Category, CategoryFlag, Function
from tests.accounts.test_signup import function_data, post_step

pytestmark = pytest.mark.django_db

STEP_1 = reverse("signup_step", kwargs={"step": "fonction"})
LIST_TABLES = re.compile(r'"organisations_(category|function|categoryflag|category_flags)"')


def list_queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(STEP_1).status_code == 200
    return [query["sql"] for query in queries if LIST_TABLES.search(query["sql"])]


def test_the_first_step_reads_the_lists_once_per_process(client):
    assert list_queries(client)
    assert list_queries(client) == []
    assert list_queries(client) == []


def test_a_change_made_here_shows_at_once(client):
    client.get(STEP_1)
    category = Category.objects.create(name="Nouvelle catégorie", position=99)
    Function.objects.create(category=category, name="Nouvelle fonction")
    flag = CategoryFlag.objects.create(label="Nouvelle case")
    category.flags.add(flag)

    page = client.get(STEP_1).content.decode()

    assert "Nouvelle catégorie" in page
    assert '<optgroup label="Nouvelle catégorie"><option value="' in page
    assert "Nouvelle case" in page


def test_a_change_made_by_another_process_shows_within_the_minute(client, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(lists.time, "monotonic", lambda: now[0])
    client.get(STEP_1)
    # Another process's change: no signal reaches this one.
    Category.objects.filter(name="Maîtres d'ouvrages").update(name="Maîtres d'ouvrage publics")

    now[0] += lists.LISTS_SECONDS - 1
    assert "Maîtres d&#x27;ouvrages" in client.get(STEP_1).content.decode()
    now[0] += 2
    page = client.get(STEP_1).content.decode()
    assert "Maîtres d&#x27;ouvrage publics" in page
    assert "Maîtres d&#x27;ouvrages" not in page


def test_a_choice_withdrawn_elsewhere_is_refused_though_still_shown(client):
    data = function_data()
    client.get(STEP_1)
    Category.objects.filter(pk=data["category"]).update(is_active=False)  # no signal: as elsewhere

    assert f'<option value="{data["category"]}">' in client.get(STEP_1).content.decode()
    response = post_step(client, "fonction", data)

    assert response.status_code == 200
    assert re.search(
        r'id="id_fonction-category_error"><li class="fr-error-text">Sélectionnez un choix valide',
        response.content.decode(),
    )
