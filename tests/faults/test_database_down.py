"""The database fails cleanly: a clear 503 (never a traceback), /readyz not ready, and the portal
serves again once PostgreSQL is back, with no restart.

The fast tests raise the driver's errors inside a view or a session backend. The slow one stops
and restarts a real, throwaway PostgreSQL under a real gunicorn.
"""

import http.cookiejar
import json
import logging
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from unittest import mock

import psutil
import psycopg
import psycopg.errors
import pytest
from django.db import connection
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpResponse
from django.urls import include, path

from portal.embedded import EmbeddedServices
from tests.conftest import BASE_DIR, clean_env, free_port

PAGE_TEXT = "Le portail ne peut pas joindre sa base de données. Réessayez dans quelques instants."
TITLE = "Service momentanément indisponible"
# What must never reach a visitor.
LEAKS = ("Traceback", "OperationalError", "InterfaceError", "psycopg", "Server Error", 'File "')


def _django_error(driver_error: psycopg.Error, kind=OperationalError):
    """The exception Django raises for a driver error (what DatabaseErrorWrapper does)."""
    error = kind(*driver_error.args)
    error.__cause__ = driver_error
    return error


REFUSED = psycopg.OperationalError(
    'connection failed: connection to server on socket "/tmp/pg/.s.PGSQL.5432" failed: '
    "Connection refused\n\tIs the server running locally and accepting connections on that socket?"
)
UNREACHABLE = {
    "refused": lambda: _django_error(REFUSED),
    "server closed": lambda: _django_error(
        psycopg.OperationalError(
            "consuming input failed: server closed the connection unexpectedly\n\tThis probably "
            "means the server terminated abnormally\n\tbefore or while processing the request."
        )
    ),
    "admin shutdown": lambda: _django_error(
        psycopg.errors.AdminShutdown("terminating connection due to administrator command")
    ),
    "connection closed": lambda: _django_error(
        psycopg.InterfaceError("the connection is closed"), kind=InterfaceError
    ),
}


def _raise(make_error):
    def view(request):
        raise make_error()

    return view


def _deadlock(request):
    raise _django_error(psycopg.errors.DeadlockDetected("deadlock detected"))


def _fine(request):
    return HttpResponse("fine")


# This module is the URLconf of the fast tests (pytest.mark.urls): the portal's URLs plus views
# that lose the database.
urlpatterns = [
    *(path(f"faults/{slug.replace(' ', '-')}/", _raise(make)) for slug, make in UNREACHABLE.items()),
    path("api/faults/refused", _raise(UNREACHABLE["refused"])),
    path("faults/deadlock/", _deadlock),
    path("faults/fine/", _fine),
    path("", include("portal.urls")),
]


def _assert_clean_503_page(response):
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Type"] == "text/html; charset=utf-8"
    body = response.content.decode()
    assert '<html lang="fr"' in body
    assert TITLE in body
    assert PAGE_TEXT in body
    assert "dsfr/dist/dsfr/dsfr.min.css" in body
    for leak in LEAKS:
        assert leak not in body


def _error_records(caplog):
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


def _assert_logged_once(caplog):
    records = _error_records(caplog)
    assert len(records) == 1, [record.getMessage() for record in records]
    record = records[0]
    assert record.name == "portal.unavailable"
    assert record.exc_info is None  # one line, no traceback
    assert "\n" not in record.getMessage()
    assert "503" in record.getMessage()


# Fast: the middleware -----------------------------------------------------------------------------


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("slug", [slug.replace(" ", "-") for slug in UNREACHABLE])
def test_a_view_that_loses_the_database_answers_the_503_page(client, caplog, slug):
    # No django_db mark: the 503 itself must not touch the database (any access would raise).
    response = client.get(f"/faults/{slug}/?page=2")
    _assert_clean_503_page(response)
    assert f'href="/faults/{slug}/?page=2"' in response.content.decode()  # "Réessayer"
    _assert_logged_once(caplog)


@pytest.mark.urls(__name__)
def test_the_json_api_answers_a_json_503(client, caplog):
    response = client.get("/api/faults/refused")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": f"{TITLE}. {PAGE_TEXT}"}
    _assert_logged_once(caplog)


@pytest.fixture
def session_store_down():
    """Every session load fails as it does when PostgreSQL is gone."""
    with mock.patch(
        "django.contrib.sessions.backends.db.SessionStore.load", side_effect=UNREACHABLE["refused"]()
    ) as load:
        yield load


@pytest.fixture
def visitor(client):
    """A visitor with a session cookie. Django's test client re-raises any exception that reached
    the handler, even one answered by a middleware: a real server does not."""
    client.raise_request_exception = False
    client.cookies["sessionid"] = "a" * 32
    return client


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("url", ["/", "/connexion/", "/inscription/fonction/", "/espace/"])
def test_a_session_that_cannot_be_loaded_in_the_middleware_answers_the_503_page(
    visitor, session_store_down, caplog, url
):
    response = visitor.get(url)
    assert session_store_down.called
    _assert_clean_503_page(response)
    _assert_logged_once(caplog)  # Django's own traceback of the 500 it made is left out


@pytest.mark.urls(__name__)
def test_in_debug_mode_too_the_visitor_gets_the_503_page_not_the_debug_page(
    visitor, session_store_down, settings
):
    settings.DEBUG = True
    _assert_clean_503_page(visitor.get("/"))


@pytest.mark.urls(__name__)
def test_a_post_whose_session_cannot_be_loaded_answers_the_503_page(visitor, session_store_down, caplog):
    response = visitor.post("/connexion/", {"username": "camille.martin", "password": "x" * 12})
    _assert_clean_503_page(response)
    assert 'href="/connexion/"' in response.content.decode()
    _assert_logged_once(caplog)


@pytest.mark.urls(__name__)
def test_the_api_answers_a_json_503_when_the_session_cannot_be_loaded(visitor, session_store_down):
    visitor.cookies["sessionid"] = "b" * 32
    with mock.patch("organisations.api.search_establishments", side_effect=UNREACHABLE["refused"]()):
        response = visitor.get("/api/organisations", {"q": "paris"})
    assert response.status_code == 503
    assert response.json() == {"error": f"{TITLE}. {PAGE_TEXT}"}


@pytest.mark.urls(__name__)
def test_other_database_errors_stay_ordinary_errors(client, caplog):
    # A deadlock comes from a database that answers: a bug or a race, not an outage.
    client.raise_request_exception = False
    response = client.get("/faults/deadlock/")
    assert response.status_code == 500
    assert "Retry-After" not in response
    body = response.content.decode()
    assert '<html lang="fr"' in body
    assert "Erreur inattendue" in body
    for leak in LEAKS:
        assert leak not in body
    assert any(record.name == "django.request" and record.exc_info for record in caplog.records)


@pytest.mark.urls(__name__)
def test_requests_after_a_failure_are_served_as_usual(client, session_store_down):
    client.raise_request_exception = False
    client.cookies["sessionid"] = "c" * 32
    assert client.get("/").status_code == 503
    del client.cookies["sessionid"]
    assert client.get("/faults/fine/").content == b"fine"


# Fast: /readyz and /healthz -----------------------------------------------------------------------


@pytest.fixture
def connecting_fails(django_db_blocker):
    """Every new connection is refused, the way it is with PostgreSQL stopped."""
    with (
        django_db_blocker.unblock(),
        mock.patch.object(connection, "connection", None),
        mock.patch.object(connection, "get_new_connection", side_effect=REFUSED) as connect,
    ):
        yield connect


def test_readyz_is_not_ready_when_the_connection_cannot_be_set_up(client, connecting_fails, caplog):
    response = client.get("/readyz")
    assert connecting_fails.called
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"].startswith("error")
    assert body["checks"]["redis"] == "ok"
    assert "Traceback" not in response.content.decode()


@pytest.mark.urls(__name__)
def test_readyz_is_not_ready_when_a_middleware_loses_the_database(visitor, session_store_down):
    with mock.patch("portal.views._check_database", side_effect=UNREACHABLE["refused"]()):
        response = visitor.get("/readyz")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json()["status"] == "not ready"


def test_healthz_answers_while_no_connection_can_be_made(client, connecting_fails):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert not connecting_fails.called


# Slow: a real PostgreSQL stopped and started under a real server -------------------------------


class Browser:
    """urllib with a cookie jar; every answer (2xx, 4xx, 5xx) as (status, headers, body)."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(self.cookies)
        )

    def request(self, url, data=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base_url + url, data=body)
        try:
            with self.opener.open(request, timeout=15) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.headers, error.read().decode()

    def cookie(self, name):
        return next((cookie.value for cookie in self.cookies if cookie.name == name), None)


@pytest.fixture
def throwaway_postgres():
    """A PostgreSQL of this test's own (as root, run as the pgserver user, like the embedded one).

    Not under pytest's tmp_path: another pytest session starting meanwhile makes its parent
    directory private again, and the pgserver user could no longer reach the data.
    """
    var_dir = Path(tempfile.mkdtemp(prefix="portal-db-down-"))
    services = EmbeddedServices(var_dir)
    try:
        started = time.monotonic()
        services.ensure_postgres()
        print(f"throwaway PostgreSQL ready in {time.monotonic() - started:.1f} s")
        yield services
    finally:
        services.stop()  # its PostgreSQL only: this var/ has no Redis
        shutil.rmtree(var_dir, ignore_errors=True)


@pytest.fixture
def portal_server(throwaway_postgres, tmp_path):
    from django.conf import settings

    env = clean_env(
        DJANGO_SETTINGS_MODULE="portal.settings.dev",
        DEBUG="false",
        DATABASE_URL=throwaway_postgres.database_url,
        REDIS_URL=settings.REDIS_URL,
        PORTAL_VAR_DIR=str(throwaway_postgres.var_dir),
        EMAIL_URL="console://",
    )
    started = time.monotonic()
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        # A throwaway database: commits need not wait for the disk.
        cwd=BASE_DIR,
        env={**env, "PGOPTIONS": "-c synchronous_commit=off"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr
    print(f"migrated in {time.monotonic() - started:.1f} s")
    port = free_port()
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log:
        # gunicorn, as in production: one sync worker keeps its connection across requests
        # (CONN_MAX_AGE), the case where a dead connection must be noticed and replaced.
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--timeout", "30", "--graceful-timeout", "5"],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _answers(base_url):
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        print(f"gunicorn answering after {time.monotonic() - deadline + 30:.1f} s")
        yield process, base_url, log_path
    finally:
        process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(base_url):
    try:
        return Browser(base_url).request("/healthz")[0] == 200
    except OSError:  # not listening yet
        return False


def _assert_clean(status, headers, body, url):
    assert status == 503, (url, status, body[:500])
    assert headers["Retry-After"] == "30", url
    if headers["Content-Type"].startswith("text/html"):
        assert TITLE in body, url
        assert PAGE_TEXT in body, url
    for leak in LEAKS:
        assert leak not in body, (url, leak)


@pytest.mark.slow
def test_with_postgresql_stopped_the_portal_answers_503_then_serves_again_without_restart(
    throwaway_postgres, portal_server
):
    process, base_url, log_path = portal_server
    worker = psutil.Process(process.pid).children()[0].pid
    visitor = Browser(base_url)  # mid-signup, with a session
    anonymous = Browser(base_url)

    # Up: pages, a session, a login form's CSRF token.
    assert visitor.request("/")[0] == 200
    status, _, login_page = visitor.request("/connexion/")
    assert status == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
    status, _, step_page = visitor.request("/inscription/fonction/")
    assert status == 200
    assert visitor.cookie("sessionid") is None  # a first look at the wizard creates no session
    step_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', step_page).group(1)
    category = re.search(r'<option value="(\d+)"', step_page.split('name="fonction-category"')[1]).group(1)
    function = re.search(r'<optgroup label="[^"]*"><option value="(\d+)"', step_page).group(1)
    answers = {"category": category, "function": function, "title": "Chargée de mission", "civilite": "mme",
               "first_name": "Camille", "last_name": "Martin"}  # fmt: skip
    status, _, _ = visitor.request(
        "/inscription/fonction/",
        {"csrfmiddlewaretoken": step_token, "signup_wizard-current_step": "fonction",
         **{f"fonction-{key}": value for key, value in answers.items()}},
    )  # fmt: skip
    assert status == 200  # followed to step 2
    assert visitor.cookie("sessionid")  # the first answer did
    status, _, body = visitor.request("/readyz")
    assert (status, json.loads(body)["status"]) == (200, "ready")

    started = time.monotonic()
    throwaway_postgres.stop_postgres()  # pg_ctl -m fast stop
    assert not throwaway_postgres.postgres_running()

    for url in ("/", "/connexion/", "/inscription/fonction/", "/espace/", "/structures/"):
        _assert_clean(*visitor.request(url), url)
    login = {"csrfmiddlewaretoken": token, "username": "camille.martin", "password": "Secret-123456"}
    _assert_clean(*visitor.request("/connexion/", login), "POST /connexion/")
    for browser in (visitor, anonymous):
        status, headers, body = browser.request("/api/organisations?q=paris")
        _assert_clean(status, headers, body, "/api/organisations")
        assert headers["Content-Type"] == "application/json"
        assert set(json.loads(body)) == {"error"}
    status, _, body = anonymous.request("/readyz")
    assert status == 503
    assert json.loads(body)["status"] == "not ready"
    assert json.loads(body)["checks"]["database"].startswith("error")
    assert "Traceback" not in body
    # An anonymous visitor may still get a page that needs no database; else the same 503.
    status, headers, body = anonymous.request("/")
    if status != 200:
        _assert_clean(status, headers, body, "anonymous /")
    # The wizard's first step needs no database once its lists are kept (organisations.lists).
    status, headers, body = anonymous.request("/inscription/fonction/")
    if status != 200:
        _assert_clean(status, headers, body, "anonymous /inscription/fonction/")
    assert anonymous.request("/healthz") == (200, mock.ANY, "ok\n")

    throwaway_postgres.ensure_postgres()  # pg_ctl start
    deadline = time.monotonic() + 10
    while visitor.request("/")[0] != 200:
        assert time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.2)
    outage = time.monotonic() - started
    status, _, body = visitor.request("/readyz")
    assert (status, json.loads(body)["status"]) == (200, "ready"), body
    assert visitor.request("/inscription/fonction/")[0] == 200
    assert anonymous.request("/api/organisations?q=paris")[0] == 200

    # A restart the server never saw: the dead connection is noticed (CONN_HEALTH_CHECKS) and
    # replaced before it is used, and the first request is served as usual.
    throwaway_postgres.stop_postgres()
    throwaway_postgres.ensure_postgres()
    assert visitor.request("/")[0] == 200

    # The same server, the same worker: nothing was restarted.
    assert process.poll() is None
    assert [child.pid for child in psutil.Process(process.pid).children()] == [worker]
    log = log_path.read_text()
    assert "Traceback" not in log, log
    assert log.count("Base de données injoignable") >= 8, log
    print(f"outage handled and recovered in {outage:.1f} s")
