"""Hostile parameters of the JSON search API: 200 or 400 in JSON, never 500."""

import pytest
from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st

from tests.hostile.helpers import answered, assert_french, forget_counters, visitor
from tests.hostile.strategies import DIGIT_LIKE, hostile, hostile_text
from tests.organisations.factories import EstablishmentFactory, LegalUnitFactory

pytestmark = pytest.mark.django_db

PARAMETERS = ["q", "code_postal", "departement", "page"]
VALID = {"q": "paris", "code_postal": "75004", "departement": "75", "page": "1"}


@pytest.fixture(autouse=True)
def paris():
    unit = LegalUnitFactory(siren="217500016", denomination="COMMUNE DE PARIS", legal_category="7210")
    return EstablishmentFactory(
        legal_unit=unit, siret="21750001600019", postal_code="75004", city="PARIS", commune_code="75104"
    )


@given(
    hostile_parameters=st.dictionaries(
        st.sampled_from(PARAMETERS), hostile_text() | DIGIT_LIKE, min_size=1, max_size=len(PARAMETERS)
    ),
    siren=st.booleans(),
)
@example(
    hostile_parameters={"q": "\x00", "code_postal": "\x00", "departement": "\x00", "page": "\x00"},
    siren=False,
)
@example(hostile_parameters={"q": "١٢٣٤٥٦٧٨٩"}, siren=False)  # digits of another script
@example(hostile_parameters={"code_postal": "١٢٣٤٥"}, siren=True)
@example(hostile_parameters={"page": "9" * 5000}, siren=False)  # beyond int()'s limit
@hostile(max_examples=40)
def test_any_parameters_answer_200_or_400_in_json(hostile_parameters, siren):
    forget_counters()  # the API's limit per address
    params = {**VALID, **({"q": "217500016"} if siren else {}), **hostile_parameters}

    response = answered(visitor().get(reverse("api_organisations"), params), allowed={200, 400})

    assert response["Content-Type"] == "application/json"
    body = response.json()
    if response.status_code == 400:
        assert body["errors"]
        assert set(body["errors"]) <= set(PARAMETERS)
        for messages in body["errors"].values():
            for message in messages:
                assert_french(message)
    else:
        assert isinstance(body["results"], list)
        assert 1 <= body["page"] <= max(body["pages"], 1)
