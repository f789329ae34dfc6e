"""What hostile input gets through without a 500 nor a half-saved row, but against the rule that
bad input gets its message next to the field. Strict: when one is fixed, its test says so."""

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


@pytest.mark.xfail(
    strict=True,
    reason="str.isdigit() and the regex \\d take digits of every script: 75004 in Arabic-Indic digits "
    "is stored as a postal code, 01 23… partly so as a phone number (+331٢٣٤…)",
)
@pytest.mark.parametrize(("field", "value"), [("postal_code", "٧٥٠٠٤"), ("phone_landline", "01٢٣٤٥٦٧٨٩")])
def test_digits_of_other_scripts_are_refused(establishment, field, value):  # noqa: F811
    client = visitor()
    walk(client, establishment, to="coordonnees")
    response = post_step(client, "coordonnees", contact_data(**{field: value}))
    assert_refused_next_to(response, f"id_coordonnees-{field}")


@pytest.mark.xfail(
    strict=True,
    reason="the wizard refuses only characters below U+0020 in the title and names (DEL and C1 "
    "controls pass, which the identity page refuses), and none in the address fields",
)
@pytest.mark.parametrize(
    ("step", "field", "value"),
    [("fonction", "first_name", "Camille\x7f"), ("coordonnees", "address", "4 PL DE L'HOTEL\x07\x1b[31m")],
)
def test_control_characters_are_refused_in_the_wizard(establishment, step, field, value):  # noqa: F811
    client = visitor()
    walk(client, establishment, to=step)
    data = function_data(**{field: value}) if step == "fonction" else contact_data(**{field: value})
    assert_refused_next_to(post_step(client, step, data), f"id_{step}-{field}")


@pytest.mark.xfail(
    strict=True,
    reason="SignupWizard.post tests self.steps.current before formtools takes the posted step: back "
    "on step 2 (the browser's back button), « Rechercher » moves on to step 3 instead of searching",
)
def test_a_search_from_the_organisation_step_searches(establishment):  # noqa: F811
    client = visitor()
    walk(client, establishment, to="confirmation")  # the session is at the last step
    response = post_step(
        client, "organisme", organisation_data(establishment, query="paris"), action="search"
    )
    assert response.status_code == 200


@pytest.mark.xfail(
    strict=True,
    reason="the signup code form has no format check (the login and e-mail change ones have): "
    "any text, « abc » included, spends one of the code's tries",
)
def test_a_text_that_is_no_code_spends_no_try_of_the_signup_code(establishment):  # noqa: F811
    client = visitor()
    walk(client, establishment, to="confirmation")
    code_page = confirm(client).url
    assert_refused_next_to(client.post(code_page, {"code": "abc"}), "id_code")
    assert PendingSignup.objects.get().tries == 0


@pytest.mark.xfail(
    strict=True,
    reason="any text typed as the letter's activation code spends a try; the fifth blocks the claim "
    "and alerts the staff",
)
def test_a_text_that_is_no_code_spends_no_try_of_the_activation_code(settings):
    settings.PORTAL_ONBOARDING_RULES = ["R1", "R3"]
    member = MembershipFactory(pending_admin=True)
    claim = AdminClaim.objects.create(
        membership=member,
        legal_unit=member.legal_unit,
        code_hash=make_password("K7P2MXQ9RT"),
        expires_at=timezone.now() + datetime.timedelta(days=30),
    )
    url = reverse("admin_activation", kwargs={"siren": member.legal_unit_id})
    assert_refused_next_to(visitor(member.user).post(url, {"code": "😀"}), "id_code")
    claim.refresh_from_db()
    assert claim.tries == 0
