import time

import pytest
from django.urls import reverse

from accounts import throttle
from portal.audit.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.accounts.helpers import PASSWORD, Clock, session_texts, text

pytestmark = pytest.mark.django_db
WAIT = "Trop de tentatives de connexion ont échoué. Patientez"
LOCKED = "la connexion avec cet identifiant est bloquée pendant 24 heures"
IP_LIMIT = "depuis votre adresse réseau aujourd'hui"
WRONG_PASSWORD = "pas-le-bon"
WRONG = "Identifiant, adresse électronique ou mot de passe incorrect."


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(time.time())
    monkeypatch.setattr(throttle, "_now", clock)
    return clock


@pytest.fixture
def user():
    return UserFactory(identifiant="jdupont", email="jeanne.dupont@mairie-exemple.fr")


def log_in(client, login, password=None, ip="203.0.113.5"):
    data = {"username": login, "password": password or WRONG_PASSWORD}
    return client.post(reverse("login"), data, REMOTE_ADDR=ip)


def fail(client, clock, login, times, ip="203.0.113.5"):
    """Fail ``times`` times, letting the waits pass between tries."""
    for _ in range(times):
        response = log_in(client, login, ip=ip)
        assert WRONG in text(response), text(response)
        clock.advance(3600)


@pytest.mark.parametrize("login", ["jdupont", "personne"])
def test_after_five_failures_the_next_try_waits_a_minute_then_two(client, clock, user, login):
    for _ in range(5):
        assert WRONG in text(log_in(client, login))
    # Even the right password is refused during the wait, with a normal page.
    response = log_in(client, login, password=PASSWORD)
    assert response.status_code == 200
    assert f"{WAIT} 1 minute avant de réessayer." in text(response)
    assert 'for="id_username"' in response.content.decode()
    clock.advance(61)
    assert WRONG in text(log_in(client, login))  # 6th failure
    assert f"{WAIT} 2 minutes avant de réessayer." in text(log_in(client, login))
    clock.advance(121)
    assert WRONG in text(log_in(client, login))  # 7th failure
    assert f"{WAIT} 4 minutes avant de réessayer." in text(log_in(client, login))


def test_the_wait_is_per_login_whatever_its_case_and_per_address(client, clock, user):
    for _ in range(5):
        log_in(client, "JDupont", ip="203.0.113.5")
    assert WAIT in text(log_in(client, " jdupont ", password=PASSWORD, ip="198.51.100.7"))
    # The address itself failed 5 times: another login from there waits too.
    assert WAIT in text(log_in(client, "quelquun", ip="203.0.113.5"))
    assert WRONG in text(log_in(client, "quelquun", ip="198.51.100.7"))


@pytest.mark.parametrize("login", ["jdupont", "personne"])
def test_ten_failures_lock_the_login_for_a_day(client, clock, user, login):
    fail(client, clock, login, 10)
    response = log_in(client, login, password=PASSWORD)
    assert response.status_code == 200
    assert LOCKED in text(response)
    assert "« Mot de passe oublié »" in text(response)
    assert client.get(reverse("home")).context["user"].is_anonymous
    locked = AuditEntry.objects.get(action="login.locked")
    assert locked.details["login"] == login
    assert AuditEntry.objects.filter(action="login.failed").count() == 10
    clock.advance(22 * 3600)  # 23 hours after the 10th failure
    assert LOCKED in text(log_in(client, login, password=PASSWORD))
    clock.advance(3600 + 1)
    if login == "jdupont":
        assert log_in(client, login, password=PASSWORD).status_code == 302
    else:
        assert WRONG in text(log_in(client, login))


def test_the_lock_applies_to_the_code_login_too(client, clock, user):
    fail(client, clock, "jdupont", 10)
    response = client.post(reverse("login_code_request"), {"login": "jdupont"}, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 200
    assert LOCKED in text(response)


def test_a_success_forgets_the_logins_failures(client, clock, user):
    for _ in range(4):
        log_in(client, "jdupont")
    assert log_in(client, "jdupont", password=PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert WRONG in text(log_in(client, "jdupont", ip="198.51.100.7"))


def test_one_address_fails_at_most_25_times_a_day(client, clock, user):
    for number in range(25):
        fail(client, clock, f"inconnu{number}", 1)
    response = log_in(client, "jdupont", password=PASSWORD)
    assert response.status_code == 200
    assert IP_LIMIT in text(response)
    # Another address is not concerned.
    assert log_in(client, "jdupont", password=PASSWORD, ip="198.51.100.7").status_code == 302


def test_a_login_already_being_checked_is_not_checked_twice_at_once(client, clock, user):
    attempt = throttle.begin_attempt(login="jdupont", ip=None)
    response = log_in(client, "jdupont", password=PASSWORD)
    assert "Une tentative de connexion est déjà en cours" in text(response)
    throttle.release(attempt)
    assert log_in(client, "jdupont", password=PASSWORD).status_code == 302


def test_failures_are_audited_with_the_typed_login_and_the_address(client, clock, user):
    log_in(client, "JDupont", ip="203.0.113.5")
    entry = AuditEntry.objects.get(action="login.failed")
    assert entry.details == {"login": "jdupont", "method": "password", "failures": 1}
    assert entry.ip_address == "203.0.113.5"
    assert entry.actor is None


def test_no_password_is_kept_in_the_session_store(client, clock, user):
    log_in(client, "jdupont", password="un-mauvais-essai")
    assert log_in(client, "jdupont", password=PASSWORD).status_code == 302
    texts = session_texts()
    assert texts
    assert all(PASSWORD not in session and "un-mauvais-essai" not in session for session in texts)


def test_the_waits_grow_and_stop_at_an_hour():
    assert [throttle.wait_minutes(n) for n in range(3, 13)] == [0, 0, 1, 2, 4, 8, 16, 32, 60, 60]


def test_the_administrations_login_is_the_portals_throttled_one(client, clock):
    staff = UserFactory(identifiant="agent", is_staff=True)
    for _ in range(5):
        response = client.post(
            "/admin/login/?next=/admin/", {"username": "agent", "password": WRONG_PASSWORD}
        )
        assert WRONG in text(response)
    response = client.post("/admin/login/?next=/admin/", {"username": "agent", "password": PASSWORD})
    assert WAIT in text(response)
    clock.advance(61)
    response = client.post("/admin/login/", {"username": "agent", "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").context["user"] == staff


def test_a_user_without_access_to_the_administration_is_told_so(client):
    client.force_login(UserFactory(identifiant="jdupont"))
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain == [("/admin/login/?next=/admin/", 302)]
    assert "Vous êtes connecté avec le compte jdupont, qui n'a pas accès à cette page." in text(response)
