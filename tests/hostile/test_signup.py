"""Hostile input in each step of the signup wizard and on its e-mail code page."""

import re

import pytest
from django.core import mail
from django.test import TestCase
from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st

from accounts.models import PendingSignup, User
from habilitations.models import Service
from organisations.models import Membership
from tests.accounts.test_signup import confirm, contact_data, function_data, post_step, step_url
from tests.hostile.helpers import (
    answered,
    assert_refused_next_to,
    error_summary,
    forget_counters,
    page,
    rows,
    visitor,
)
from tests.hostile.strategies import CHARACTERS, hostile, hostile_choices, hostile_text
from tests.organisations.factories import EstablishmentFactory, LegalUnitFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _signup_settings(settings):
    settings.CAPTCHA_TEST_MODE = True
    settings.PORTAL_ONBOARDING_RULES = ["R1", "R2", "R3", "R4"]
    settings.PORTAL_CLIENT_NUMBERS = True
    settings.PORTAL_CHOOSE_IDENTIFIANT = True


@pytest.fixture
def establishment():
    """An organisation with an admin: the contact step offers the services too."""
    unit = LegalUnitFactory(siren="217500016", denomination="COMMUNE DE PARIS", legal_category="7210")
    establishment = EstablishmentFactory(
        legal_unit=unit, siret="21750001600019", postal_code="75004", city="PARIS", commune_code="75104"
    )
    MembershipFactory(admin=True, establishment=establishment)
    return establishment


def organisation_data(establishment, **overrides) -> dict:
    return {
        "query": establishment.siret,
        "postal_code": "",
        "client_number": "",
        "siret": establishment.siret,
    } | overrides


def walk(client, establishment, *, to: str):
    """Through the steps before ``to``, with valid answers."""
    client.get(reverse("signup") + "?recommencer", follow=True)
    for step, data in (
        ("fonction", function_data()),
        ("organisme", organisation_data(establishment)),
        ("coordonnees", contact_data(services=[Service.objects.filter(is_active=True).first().pk])),
    ):
        if step == to:
            return
        response = answered(post_step(client, step, data))
        assert response.status_code == 302, page(response)


@pytest.fixture
def wizard(establishment):
    """A browser in the wizard; each test posts one step again and again, which formtools allows
    whatever the step reached (the management form names the step posted)."""
    return visitor()


def walk_once(client, establishment, *, to: str):
    """Walk to the step, unless this browser is there already (a signup sent ends the wizard)."""
    if not getattr(client, "walked", False):
        walk(client, establishment, to=to)
        client.walked = True


def assert_step_passed(response, next_step: str):
    assert response.status_code == 302, response.status_code
    assert response.url == step_url(next_step)


FUNCTION_FIELDS = ["title", "first_name", "last_name", "category", "function", "civilite"]


@given(field=st.sampled_from([*FUNCTION_FIELDS, "flags"]), value=hostile_text(), values=hostile_choices())
@hostile(max_examples=30)
def test_the_function_step(wizard, field, value, values):
    client = wizard
    forget_counters()
    before = rows()

    response = answered(
        post_step(client, "fonction", function_data(**{field: values if field == "flags" else value}))
    )

    if response.status_code == 302:
        assert_step_passed(response, "organisme")
    else:
        assert_refused_next_to(response, f"id_fonction-{field}")
    assert rows() == before


ORGANISATION_FIELDS = ["query", "postal_code", "client_number", "siret"]


@given(
    field=st.sampled_from([*ORGANISATION_FIELDS, "page"]),
    value=hostile_text(),
    searching=st.booleans(),
)
# A client number was looked up as typed, before its field's checks: a NUL in it gave a 500.
@example(field="client_number", value="\x00", searching=True)
@hostile(max_examples=30)
def test_the_organisation_step(wizard, establishment, field, value, searching):
    client = wizard
    walk_once(client, establishment, to="organisme")
    forget_counters()
    before = rows()
    if field == "page":  # the results' page buttons: a search again
        data, extra = organisation_data(establishment, query="paris"), {"page": value}
    else:
        data = organisation_data(establishment, **{field: value})
        extra = {"action": "search"} if searching else {}

    response = answered(post_step(client, "organisme", data, **extra))

    if extra:  # a search: the step again, with its results or what is wrong with the search
        assert response.status_code == 200
        content = page(response)
        if field == "query" and "id_organisme-query_error" in content:
            assert_refused_next_to(response, "id_organisme-query")
    elif response.status_code == 302:
        assert_step_passed(response, "coordonnees")
    elif field == "siret":
        content = response.content.decode()
        assert re.search(r'<p class="fr-error-text" id="organisme-siret-error"[^>]*>[^<]+</p>', content), (
            error_summary(content)
        )
    else:
        assert_refused_next_to(response, f"id_organisme-{field}")
    assert rows() == before
    # A search keeps what was typed, unvalidated: both pages still answer with it. The step's own
    # page last, where the next example types.
    answered(client.get(step_url("coordonnees")))
    answered(client.get(step_url("organisme")))


CONTACT_FIELDS = [
    "departement",
    "address",
    "address_complement",
    "postal_code",
    "city",
    "email",
    "phone_landline",
    "phone_mobile",
    "identifiant",
]


@given(field=st.sampled_from([*CONTACT_FIELDS, "services"]), value=hostile_text(), values=hostile_choices())
@hostile(max_examples=30)
def test_the_contact_step(wizard, establishment, field, value, values):
    client = wizard
    walk_once(client, establishment, to="coordonnees")
    forget_counters()
    before = rows()

    response = answered(
        post_step(client, "coordonnees", contact_data(**{field: values if field == "services" else value}))
    )

    if response.status_code == 302:
        assert_step_passed(response, "confirmation")
    else:
        assert_refused_next_to(response, f"id_coordonnees-{field}")
    assert rows() == before


@given(field=st.sampled_from(["captcha_0", "captcha_1", "accept_cgu"]), value=hostile_text())
@example(field="captcha_0", value="\x00")
@hostile(max_examples=25)
def test_the_confirmation_step(wizard, establishment, field, value):
    client = wizard
    walk_once(client, establishment, to="confirmation")
    forget_counters()
    before = rows()
    # A wrong answer to the image unless the image's answer is what is tested.
    answers = {"captcha_0": "x", "captcha_1": "faux", "accept_cgu": "on"}
    if field == "accept_cgu":
        answers["captcha_1"] = "PASSED"

    response = answered(post_step(client, "confirmation", {**answers, field: value}))

    if response.status_code == 302:  # the terms were accepted: the code is sent, nothing else exists
        assert field == "accept_cgu"
        answered(client.get(response.url))
        client.walked = False
        assert rows()["pending signups"] == before["pending signups"] + 1
        assert rows()["memberships"] == before["memberships"]
        assert rows()["users"] == before["users"]
    else:
        assert_refused_next_to(
            response, "id_confirmation-" + ("accept_cgu" if field == "accept_cgu" else "captcha")
        )
        assert rows() == before


@pytest.fixture
def code_page(establishment):
    client = visitor()
    walk(client, establishment, to="confirmation")
    response = confirm(client)
    assert response.status_code == 302, page(response)
    return client, response.url


@given(code=hostile_text())
@hostile(max_examples=25)
def test_the_code_page(code_page, code):
    client, url = code_page
    forget_counters()
    before = rows()

    response = answered(client.post(url, {"code": code}))

    assert_refused_next_to(response, "id_code")
    after = rows()
    assert after["users"] == before["users"]
    assert after["memberships"] == before["memberships"]
    assert after["pending signups"] == before["pending signups"]


# Accepted answers are stored as typed --------------------------------------------------------------

# What the text fields accept: no control character, at most their length; any script, format
# characters (bidirectional overrides, zero-width spaces), line separators.
ACCEPTED_TEXT = st.text(
    st.characters(exclude_categories=("Cs", "Cc"))
    | st.sampled_from(["\u202e", "\u200b", "\u2028", "ß", "İ", "ﬃ"]),
    min_size=1,
    max_size=60,
).filter(lambda text: text.strip())


@given(
    title=ACCEPTED_TEXT,
    first_name=ACCEPTED_TEXT,
    last_name=ACCEPTED_TEXT,
    address=ACCEPTED_TEXT,
    city=ACCEPTED_TEXT,
    complement=st.text(CHARACTERS, max_size=20).filter(lambda text: not any(ord(c) < 32 for c in text)),
)
@hostile(max_examples=8)
def test_what_the_steps_accept_reaches_the_registration_and_its_emails(
    establishment, title, first_name, last_name, address, city, complement
):
    client = visitor()
    client.get(reverse("signup") + "?recommencer", follow=True)
    forget_counters()
    mail.outbox.clear()
    email = f"personne{User.objects.count()}@paris.fr"
    identity = {"title": title, "first_name": first_name, "last_name": last_name}
    contact = {"address": address, "city": city, "address_complement": complement, "email": email}
    contact["identifiant"] = f"hostile{User.objects.count()}"
    for step, data in (
        ("fonction", function_data(**identity)),
        ("organisme", organisation_data(establishment)),
        ("coordonnees", contact_data(**contact)),
    ):
        response = answered(post_step(client, step, data))
        if response.status_code != 302:
            # Refused (a value was too long, or was only spaces): said next to the field.
            field = next(name for name in (*identity, *contact) if f"-{name}_error" in page(response))
            assert_refused_next_to(response, f"id_{step}-{field}")
            return

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = answered(confirm(client))
    assert response.status_code == 302, page(response)
    code = re.search(r"^\s+(\d{4,8})$", mail.outbox[-1].body, re.MULTILINE).group(1)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = answered(client.post(response.url, {"code": code}, follow=True))
    assert response.status_code == 200

    membership = Membership.objects.select_related("user").get(email=email)
    assert membership.title == title.strip()
    assert (membership.user.first_name, membership.user.last_name) == (first_name.strip(), last_name.strip())
    assert (membership.address, membership.city) == (address.strip(), city.strip())
    assert membership.address_complement == complement.strip()
    assert PendingSignup.objects.filter(email=email, completed_at__isnull=False).exists()
