"""Input that looks right to a lenient check: digits of other scripts, controls above U+001F, a
page the browser kept, texts that are no code. Each is refused next to its field, or does what
the page says, and spends nothing."""

import datetime

import pytest
from django.contrib.auth.hashers import make_password
from django.urls import reverse
from django.utils import timezone

from accounts.models import PendingSignup
from organisations.models import AdminClaim
from tests.accounts.test_signup import confirm, contact_data, function_data, post_step
from tests.hostile.helpers import assert_refused_next_to, visitor
from tests.hostile.test_signup import _signup_settings, establishment, organisation_data, walk  # noqa: F401
from tests.organisations.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("field", "value"), [("postal_code", "٧٥٠٠٤"), ("phone_landline", "01٢٣٤٥٦٧٨٩")])
def test_digits_of_other_scripts_are_refused(establishment, field, value):  # noqa: F811
    """str.isdigit() and \\d take the digits of every script: ٧٥٠٠٤ is no postal code."""
    client = visitor()
    walk(client, establishment, to="coordonnees")
    response = post_step(client, "coordonnees", contact_data(**{field: value}))
    assert_refused_next_to(response, f"id_coordonnees-{field}")


@pytest.mark.parametrize(
    ("step", "field", "value"),
    [
        ("fonction", "first_name", "Camille\x7f"),
        ("fonction", "title", "Chargé\x9bde mission"),
        ("coordonnees", "address", "4 PL DE L'HOTEL\x07\x1b[31m"),
        ("coordonnees", "city", "PA\x85RIS"),
    ],
)
def test_control_characters_are_refused_in_the_wizard(establishment, step, field, value):  # noqa: F811
    """DEL, C1 and terminal escapes too, in the names as in the address."""
    client = visitor()
    walk(client, establishment, to=step)
    data = function_data(**{field: value}) if step == "fonction" else contact_data(**{field: value})
    assert_refused_next_to(post_step(client, step, data), f"id_{step}-{field}")


def test_a_search_from_the_organisation_step_searches(establishment):  # noqa: F811
    """Back on step 2 with the browser's back button, « Rechercher » searches (it moved on)."""
    client = visitor()
    walk(client, establishment, to="confirmation")  # the session is at the last step
    response = post_step(
        client, "organisme", organisation_data(establishment, query="paris"), action="search"
    )
    assert response.status_code == 200
    assert "Étape 2 sur 4" in response.content.decode()


def test_a_text_that_is_no_code_spends_no_try_of_the_signup_code(establishment):  # noqa: F811
    """The code pages of login and e-mail change refused such text already; signup now does."""
    client = visitor()
    walk(client, establishment, to="confirmation")
    code_page = confirm(client).url
    assert_refused_next_to(client.post(code_page, {"code": "abc"}), "id_code")
    assert PendingSignup.objects.get().tries == 0


@pytest.mark.parametrize("typed", ["😀", "K7P2M-XQ9R0", "K7P2M-XQ9RTT", "K7P2M-XQ9R٣"])
def test_a_text_that_is_no_code_spends_no_try_of_the_activation_code(settings, typed):
    """Five tries block the claim and alert the staff: a typo of form must not spend one."""
    settings.PORTAL_ONBOARDING_RULES = ["R1", "R3"]
    member = MembershipFactory(pending_admin=True)
    claim = AdminClaim.objects.create(
        membership=member,
        legal_unit=member.legal_unit,
        code_hash=make_password("K7P2MXQ9RT"),
        expires_at=timezone.now() + datetime.timedelta(days=30),
    )
    url = reverse("admin_activation", kwargs={"siren": member.legal_unit_id})
    assert_refused_next_to(visitor(member.user).post(url, {"code": typed}), "id_code")
    claim.refresh_from_db()
    assert claim.tries == 0
