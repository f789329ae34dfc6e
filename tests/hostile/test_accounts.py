"""Hostile input on the account pages: login, login code, forgotten password and identifiant,
password change, identity."""

import pytest
from django.test import TestCase
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import LoginCode
from tests.accounts.factories import UserFactory
from tests.accounts.helpers import PASSWORD
from tests.hostile.helpers import (
    answered,
    assert_french,
    assert_refused_next_to,
    error_next_to,
    error_summary,
    forget_counters,
    post,
    rows,
    state,
    visitor,
)
from tests.hostile.strategies import hostile, hostile_text

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Un-tout-nouveau-mot-de-passe-2026"
LOGIN_REFUSED = "Identifiant, adresse électronique ou mot de passe incorrect."


@pytest.fixture
def user():
    return UserFactory(identifiant="cmartin", email="camille.martin@mairie-exemple.fr")


def assert_refused(response, field_id: str) -> str:
    """Refused with the field's error under it, or, where a form cannot say which field is wrong
    (a login, a spent code), with the error at the top of the form."""
    answered(response)
    assert response.status_code == 200, response.status_code
    content = response.content.decode()
    if error_next_to(content, field_id):
        return assert_refused_next_to(response, field_id)
    summary = error_summary(content)
    assert_french(summary)
    return summary


@given(field=st.sampled_from(["username", "password"]), value=hostile_text(), urlencoded=st.booleans())
@hostile(max_examples=25)
def test_login(user, field, value, urlencoded):
    forget_counters()
    before = rows(), state(user)
    data = {"username": user.identifiant, "password": PASSWORD, field: value}

    response = post(visitor(), reverse("login"), data, urlencoded=urlencoded)

    error = assert_refused(response, f"id_{field}")
    if not error_next_to(response.content.decode(), f"id_{field}"):
        assert LOGIN_REFUSED in error
    assert (rows(), state(user)) == before


@given(login=hostile_text(), urlencoded=st.booleans())
@hostile(max_examples=25)
def test_login_code_request(user, login, urlencoded):
    forget_counters()
    before = rows(), LoginCode.objects.count()

    response = answered(
        post(visitor(), reverse("login_code_request"), {"login": login}, urlencoded=urlencoded)
    )

    if response.status_code == 302:  # the same answer whether an account matches or not
        assert response.url == reverse("login_code_verify")
    else:
        assert_refused_next_to(response, "id_login")
    assert (rows(), LoginCode.objects.count()) == before


@pytest.fixture
def code_requested(user):
    client = visitor()
    response = client.post(reverse("login_code_request"), {"login": user.identifiant})
    assert response.status_code == 302
    return client


@given(code=hostile_text())
@hostile(max_examples=25)
def test_login_code_verify(code_requested, user, code):
    forget_counters()
    before = rows(), state(user)

    response = code_requested.post(reverse("login_code_verify"), {"code": code})

    assert_refused(response, "id_code")  # a spent code is said at the top
    assert (rows(), state(user)) == before


@given(
    url_name=st.sampled_from(["password_reset", "identifiant_reminder"]),
    email=hostile_text(),
    urlencoded=st.booleans(),
)
@hostile(max_examples=25)
def test_forgotten_password_and_identifiant(user, url_name, email, urlencoded):
    forget_counters()
    before = rows()

    response = answered(post(visitor(), reverse(url_name), {"email": email}, urlencoded=urlencoded))

    if response.status_code == 302:  # the same answer whether an account matches or not
        assert response.url == reverse(f"{url_name}_done")
    else:
        assert_refused_next_to(response, "id_email")
    assert rows() == before


@given(field=st.sampled_from(["old_password", "new_password1", "new_password2"]), value=hostile_text())
@hostile(max_examples=30)
def test_password_change(user, field, value):
    client = visitor(user)
    forget_counters()
    user.refresh_from_db()
    before = rows(), state(user)
    data = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    data[field] = value
    if field == "new_password1":
        data["new_password2"] = value

    response = answered(client.post(reverse("password_change"), data))

    if response.status_code == 302:  # a new password the policy accepts
        assert field == "new_password1"
        user.refresh_from_db()
        assert user.check_password(value)
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    else:
        assert_refused_next_to(response, f"id_{field}")
        assert (rows(), state(user)) == before


@given(field=st.sampled_from(["civilite", "first_name", "last_name"]), value=hostile_text())
@hostile(max_examples=30)
def test_identity(user, field, value):
    client = visitor(user)
    forget_counters()
    user.refresh_from_db()
    before = rows(), state(user)
    data = {"civilite": "mme", "first_name": user.first_name, "last_name": user.last_name, field: value}

    # The e-mail telling the change is sent too (on commit), with what was typed in it.
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = answered(client.post(reverse("identity"), data))

    if response.status_code == 302:
        user.refresh_from_db()
        assert getattr(user, field) == value.strip()
    else:
        assert_refused_next_to(response, f"id_{field}")
        assert (rows(), state(user)) == before
