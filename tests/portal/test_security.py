"""Security settings (DESIGN.md, security row): a Content-Security-Policy without inline scripts,
HSTS, Secure and HttpOnly cookies, session idle and absolute timeouts, `check --deploy` clean."""

import json
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.sessions.models import Session
from django.urls import reverse

from organisations.enums import MembershipStatus, OnboardingRule
from portal import security
from portal.audit.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.accounts.helpers import PASSWORD, Clock, text
from tests.accounts.test_signup import contact_data, function_data, post_step, step_url
from tests.conftest import run_python
from tests.organisations.factories import EstablishmentFactory, LegalUnitFactory, MembershipFactory
from tests.portal.test_settings import production_env

pytestmark = pytest.mark.django_db

EXPIRED = "Votre session a expiré : reconnectez-vous."
T0 = 1_800_000_000.0


def csp(response) -> dict[str, list[str]]:
    return security.parse_policy(response["Content-Security-Policy"])


# Content-Security-Policy and the other headers ------------------------------------------------


def test_every_page_has_a_policy_allowing_scripts_from_our_origin_only(client):
    response = client.get("/")
    policy = csp(response)
    assert policy["script-src"] == ["'self'"]
    assert policy == {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],  # DSFR's styles are files: no 'unsafe-inline' for styles either
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
    assert "unsafe" not in response["Content-Security-Policy"]
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    # Error pages are pages too.
    missing = client.get("/cette-page-n-existe-pas/")
    assert missing.status_code == 404
    assert csp(missing)["script-src"] == ["'self'"]


def test_responses_other_than_pages_carry_no_policy(client):
    response = client.get(reverse("healthz"))
    assert not response["Content-Type"].startswith("text/html")
    assert "Content-Security-Policy" not in response


def test_a_deployment_extends_the_policy_in_its_settings(client, settings):
    settings.PORTAL_CSP = {**settings.PORTAL_CSP, "img-src": ["'self'", "data:", "https://tuiles.example.fr"]}
    assert csp(client.get("/"))["img-src"] == ["'self'", "data:", "https://tuiles.example.fr"]
    settings.PORTAL_CSP = "default-src 'self'; frame-ancestors 'none'"
    assert client.get("/")["Content-Security-Policy"] == "default-src 'self'; frame-ancestors 'none'"


def test_a_deployment_extends_the_policy_from_the_environment():
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.PORTAL_CSP))"
    )
    extra = "img-src https://tuiles.example.fr; connect-src https://stats.example.fr; frame-src https://v.example.fr"
    result = run_python(code, **production_env(PORTAL_CSP_EXTRA=extra))
    assert result.returncode == 0, result.stderr
    policy = json.loads(result.stdout)
    assert policy["img-src"] == ["'self'", "data:", "https://tuiles.example.fr"]
    assert policy["connect-src"] == ["'self'", "https://stats.example.fr"]
    assert policy["frame-src"] == ["'self'", "https://v.example.fr"]  # from default-src
    assert policy["script-src"] == ["'self'"]

    for unsafe in ("script-src 'unsafe-inline'", "default-src 'self' 'unsafe-eval'", "script-src data:"):
        refused = run_python(code, **production_env(PORTAL_CSP_EXTRA=unsafe))
        assert refused.returncode != 0
        assert "PORTAL_CSP_EXTRA" in refused.stderr
    malformed = run_python(code, **production_env(PORTAL_CSP_EXTRA="img-src"))
    assert "n'est pas une directive suivie de ses sources" in malformed.stderr


def test_a_view_widens_the_policy_of_its_own_response_only(rf):
    from django.http import HttpResponse

    def view(request):
        response = HttpResponse("<p>Conditions</p>")
        return security.allow_sources(response, "form-action", "https://prets.example.fr/demandes/?x=1")

    middleware = security.ContentSecurityPolicyMiddleware(view)
    widened = security.parse_policy(middleware(rf.get("/"))["Content-Security-Policy"])
    assert widened["form-action"] == ["'self'", "https://prets.example.fr"]
    assert widened["script-src"] == ["'self'"]
    plain = security.ContentSecurityPolicyMiddleware(lambda request: HttpResponse("<p>x</p>"))
    assert security.parse_policy(plain(rf.get("/"))["Content-Security-Policy"])["form-action"] == ["'self'"]


# No inline script, no event handler attribute ----------------------------------------------------


class ScriptFinder(HTMLParser):
    """Collects what a policy without 'unsafe-inline' would refuse to run."""

    DATA_TYPES = {"application/json", "application/ld+json", "text/template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.offences: list[str] = []
        self._inline_script = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.offences.append(f"<{tag} {name}={value!r}>")
            if name.lower() in {"href", "src", "action", "formaction"} and (
                value or ""
            ).strip().lower().startswith("javascript:"):
                self.offences.append(f"<{tag} {name}={value!r}>")
            if name.lower() == "style":
                self.offences.append(f"<{tag} style={value!r}>")
        script_type = (attributes.get("type") or "").lower()
        if tag == "script" and "src" not in attributes and script_type not in self.DATA_TYPES:
            self._inline_script = f"<script {attributes}>"
        if tag == "style":
            self.offences.append("<style> element")

    def handle_data(self, data):
        if self._inline_script and data.strip():
            self.offences.append(f"{self._inline_script}{data.strip()[:80]}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._inline_script = None


def offences(response) -> list[str]:
    assert response.status_code == 200, response
    assert response["Content-Type"].startswith("text/html")
    finder = ScriptFinder()
    finder.feed(response.content.decode())
    return finder.offences


def test_the_finder_sees_inline_scripts_handlers_and_styles():
    page = (
        '<script src="/static/a.js"></script><script type="application/json">{"a": 1}</script>'
        '<script>alert(1)</script><button onclick="go()">x</button><a href="javascript:go()">y</a>'
        '<p style="color: red">z</p>'
    )
    finder = ScriptFinder()
    finder.feed(page)
    assert len(finder.offences) == 4


@pytest.fixture
def establishment():
    unit = LegalUnitFactory(siren="217500016", denomination="COMMUNE DE PARIS", legal_category="7210")
    return EstablishmentFactory(legal_unit=unit, siret="21750001600019", postal_code="75004", city="PARIS")


def test_the_public_pages_and_every_signup_step_run_no_inline_script(client, settings, establishment):
    settings.CAPTCHA_TEST_MODE = True
    pages = {"home": client.get("/"), "login": client.get(reverse("login"))}
    pages["fonction"] = client.get(step_url("fonction"))
    assert post_step(client, "fonction", function_data()).status_code == 302
    pages["organisme"] = client.get(step_url("organisme"))
    search = {"query": "commune de paris", "postal_code": ""}
    pages["organisme, results"] = post_step(client, "organisme", search, action="search")
    organisme = {"query": establishment.siret, "postal_code": "", "siret": establishment.siret}
    assert post_step(client, "organisme", organisme).status_code == 302
    pages["coordonnees"] = client.get(step_url("coordonnees"))
    assert post_step(client, "coordonnees", contact_data()).status_code == 302
    pages["confirmation"] = client.get(step_url("confirmation"))
    assert "Étape 4 sur 4" in text(pages["confirmation"])
    assert "COMMUNE DE PARIS" in text(pages["organisme, results"])
    for name, response in pages.items():
        assert offences(response) == [], name


def test_the_members_space_runs_no_inline_script(client):
    membership = MembershipFactory()
    client.force_login(membership.user)
    for path in (reverse("dashboard"), reverse("services:catalogue")):
        assert offences(client.get(path)) == [], path


# Service's admin form has a URLField without assume_scheme (habilitations/admin.py).
@pytest.mark.filterwarnings(
    "ignore:The default scheme will be changed:django.utils.deprecation.RemovedInDjango60Warning"
)
def test_the_administration_runs_no_inline_script(client, rf):
    staff = UserFactory(staff=True, is_superuser=True)
    request = rf.get("/")
    request.user = staff
    waiting = MembershipFactory(
        status=MembershipStatus.PENDING_STAFF, rule=OnboardingRule.R4_STAFF_VALIDATION
    )
    client.force_login(staff)
    paths = [reverse("admin:index")]
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        paths.append(reverse("admin:{}_{}_changelist".format(*info)))
        if model_admin.has_add_permission(request):
            paths.append(reverse("admin:{}_{}_add".format(*info)))
    paths.append(reverse("admin:organisations_membership_change", args=[waiting.pk]))
    paths.append(reverse("admin:accounts_user_change", args=[waiting.user.pk]))
    for path in paths:
        assert offences(client.get(path)) == [], path
    # An action's intermediate page.
    action_page = client.post(
        reverse("admin:organisations_membership_changelist"),
        {"action": "refuse_selected", "_selected_action": [waiting.pk]},
    )
    assert "motif" in text(action_page).lower()
    assert offences(action_page) == []


# HTTPS: HSTS and cookies in production ----------------------------------------------------------

PRODUCTION_SECURITY_SETTINGS = [
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "SESSION_COOKIE_NAME",
    "SESSION_COOKIE_DOMAIN",
    "SESSION_COOKIE_PATH",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SAMESITE",
    "CSRF_COOKIE_NAME",
    "CSRF_COOKIE_DOMAIN",
    "CSRF_COOKIE_PATH",
    "X_FRAME_OPTIONS",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "SILENCED_SYSTEM_CHECKS",
]


@pytest.fixture(scope="module")
def production_security():
    """The production settings' values, from a process started as a deployment starts."""
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name) for name in {PRODUCTION_SECURITY_SETTINGS!r}}}))"
    )
    result = run_python(code, **production_env())
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    values["SECURE_PROXY_SSL_HEADER"] = tuple(values["SECURE_PROXY_SSL_HEADER"])
    return values


def test_production_settings_ask_for_https_everywhere(production_security):
    assert production_security["SECURE_SSL_REDIRECT"] is True
    assert production_security["SECURE_HSTS_SECONDS"] >= 31536000  # the preload list's minimum
    assert production_security["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert production_security["SECURE_HSTS_PRELOAD"] is True
    for cookie in ("SESSION", "CSRF"):
        assert production_security[f"{cookie}_COOKIE_SECURE"] is True
        assert production_security[f"{cookie}_COOKIE_HTTPONLY"] is True
        assert production_security[f"{cookie}_COOKIE_SAMESITE"] == "Lax"
        assert production_security[f"{cookie}_COOKIE_NAME"].startswith("__Host-")
        # What the browser demands of a __Host- cookie: no Domain, Path=/.
        assert production_security[f"{cookie}_COOKIE_DOMAIN"] is None
        assert production_security[f"{cookie}_COOKIE_PATH"] == "/"
    assert production_security["X_FRAME_OPTIONS"] == "DENY"
    # check --deploy is clean without silencing any of its own checks.
    assert not [
        check for check in production_security["SILENCED_SYSTEM_CHECKS"] if check.startswith("security.")
    ]


@pytest.fixture
def production_client(client, settings, production_security):
    """The test client, behind the production settings' HTTPS rules (set before its first request:
    SecurityMiddleware reads them once)."""
    for name, value in production_security.items():
        if name != "SILENCED_SYSTEM_CHECKS":
            setattr(settings, name, value)
    return client


def test_in_production_a_page_over_https_has_hsts_and_plain_http_is_redirected(production_client):
    plain = production_client.get(reverse("login"))
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/connexion/"
    # Behind the proxy, which says the request came over HTTPS.
    response = production_client.get(reverse("login"), headers={"x-forwarded-proto": "https"})
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains; preload"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    csrf = response.cookies["__Host-csrftoken"]
    assert (csrf["secure"], csrf["httponly"], csrf["samesite"], csrf["path"], csrf["domain"]) == (
        True,
        True,
        "Lax",
        "/",
        "",
    )


def test_in_production_the_session_cookie_is_secure_httponly_and_host_only(production_client):
    user = UserFactory()
    response = production_client.post(
        reverse("login"),
        {"username": user.identifiant, "password": PASSWORD},
        headers={"x-forwarded-proto": "https"},
    )
    assert response.status_code == 302
    session = response.cookies["__Host-sessionid"]
    assert session.value
    assert (session["secure"], session["httponly"], session["samesite"], session["path"]) == (
        True,
        True,
        "Lax",
        "/",
    )
    assert session["domain"] == ""
    assert "sessionid" not in response.cookies  # only the prefixed name


def test_check_deploy_is_clean_with_the_security_settings_of_a_deployment():
    code = (
        "from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])"
    )
    env = production_env(
        PORTAL_SESSION_IDLE_SECONDS="900",
        PORTAL_SESSION_ABSOLUTE_SECONDS="36000",
        PORTAL_CSP_EXTRA="img-src https://tuiles.example.fr",
    )
    result = run_python(code, **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_session_timeouts_come_from_the_environment_strictly():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.PORTAL_SESSION_IDLE_SECONDS, settings.PORTAL_SESSION_ABSOLUTE_SECONDS)"
    )
    assert run_python(code, **production_env()).stdout.split() == ["1800", "28800"]
    custom = production_env(PORTAL_SESSION_IDLE_SECONDS="600", PORTAL_SESSION_ABSOLUTE_SECONDS="7200")
    assert run_python(code, **custom).stdout.split() == ["600", "7200"]
    bad = run_python(code, **production_env(PORTAL_SESSION_IDLE_SECONDS="trente minutes"))
    assert "PORTAL_SESSION_IDLE_SECONDS doit être un nombre entier" in bad.stderr
    inverted = production_env(PORTAL_SESSION_IDLE_SECONDS="7200", PORTAL_SESSION_ABSOLUTE_SECONDS="3600")
    assert "ne peut pas dépasser PORTAL_SESSION_ABSOLUTE_SECONDS" in run_python(code, **inverted).stderr


# Session timeouts -------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(T0)
    monkeypatch.setattr(security, "_now", clock)
    return clock


@pytest.fixture
def member(client, clock):
    """A member who has just logged in through the login page, at T0."""
    user = MembershipFactory().user
    response = client.post(reverse("login"), {"username": user.identifiant, "password": PASSWORD})
    assert response.status_code == 302
    return user


def session_data(client) -> dict:
    key = client.cookies["sessionid"].value
    return Session.objects.get(session_key=key).get_decoded()


def expiries(user) -> list[dict]:
    return [entry.details for entry in AuditEntry.objects.filter(action="session.expired", actor=user)]


def test_logging_in_starts_both_clocks(client, member):
    data = session_data(client)
    assert data[security.LOGIN_AT] == data[security.ACTIVITY_AT] == int(T0)


def test_after_the_idle_timeout_the_user_is_logged_out_audited_and_sent_to_log_in(client, member, clock):
    assert client.get(reverse("dashboard")).status_code == 200
    clock.advance(30 * 60 + 1)
    response = client.get(reverse("dashboard") + "?onglet=services")
    assert response.status_code == 302
    assert response.url == reverse("login") + "?next=/espace/%3Fonglet%3Dservices"
    assert expiries(member) == [{"reason": "idle"}]
    entry = AuditEntry.objects.get(action="session.expired")
    assert entry.actor_label == member.identifiant
    assert entry.ip_address == "127.0.0.1"
    login_page = client.get(response.url)
    assert EXPIRED in text(login_page)
    assert '<input type="hidden" name="next" value="/espace/?onglet=services">' in text(login_page)
    # Logged out for good: the session is gone, the next visit is an ordinary anonymous one.
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("dashboard")).url.startswith(reverse("login"))
    assert len(expiries(member)) == 1


def test_activity_keeps_the_session_alive_until_the_absolute_timeout(client, member, clock):
    for _ in range(8 * 3):  # a request every 20 minutes for 8 hours
        clock.advance(20 * 60)
        assert client.get(reverse("dashboard")).status_code == 200
    clock.advance(1)
    response = client.get(reverse("dashboard"))
    assert response.url == reverse("login") + "?next=/espace/"
    assert expiries(member) == [{"reason": "absolute"}]
    assert EXPIRED in text(client.get(response.url))


def test_a_fresh_activity_extends_the_idle_timeout(client, member, clock):
    clock.advance(25 * 60)
    assert client.get(reverse("dashboard")).status_code == 200
    clock.advance(25 * 60)  # 50 minutes after logging in, 25 after the last request
    assert client.get(reverse("dashboard")).status_code == 200
    clock.advance(30 * 60 + 1)
    assert client.get(reverse("dashboard")).status_code == 302
    assert expiries(member) == [{"reason": "idle"}]


def test_the_session_is_written_at_most_once_a_minute(client, member, clock):
    clock.advance(30)
    response = client.get(reverse("dashboard"))
    assert "sessionid" not in response.cookies  # not saved
    assert session_data(client)[security.ACTIVITY_AT] == int(T0)
    clock.advance(31)
    response = client.get(reverse("dashboard"))
    assert "sessionid" in response.cookies
    assert session_data(client)[security.ACTIVITY_AT] == int(T0 + 61)
    assert session_data(client)[security.LOGIN_AT] == int(T0)


def test_timeouts_follow_the_settings(client, member, clock, settings):
    settings.PORTAL_SESSION_IDLE_SECONDS = 300
    clock.advance(301)
    assert client.get(reverse("dashboard")).status_code == 302
    assert expiries(member) == [{"reason": "idle"}]


def test_a_form_sent_after_expiry_leads_to_log_in_and_back_to_the_form(client, member, clock):
    clock.advance(31 * 60)
    form_page = "http://testserver" + reverse("password_change")
    response = client.post(
        reverse("password_change"), {"old_password": PASSWORD}, headers={"referer": form_page}
    )
    assert response.status_code == 302
    assert response.url == reverse("login") + "?next=/mot-de-passe/"
    assert expiries(member) == [{"reason": "idle"}]
    assert EXPIRED in text(client.get(response.url))


def test_a_form_sent_after_expiry_from_elsewhere_leads_to_the_login_page_alone(client, member, clock):
    clock.advance(31 * 60)
    response = client.post(reverse("logout"), headers={"referer": "https://ailleurs.example/"})
    assert response.status_code == 302
    assert response.url == reverse("login")


def test_the_login_page_itself_is_not_its_own_next_page(client, member, clock):
    clock.advance(31 * 60)
    response = client.get(reverse("login"))
    assert response.url == reverse("login")


def test_anonymous_sessions_are_left_alone(client, clock):
    assert client.get(step_url("fonction")).status_code == 200
    assert post_step(client, "fonction", function_data()).status_code == 302
    clock.advance(10 * 3600)
    response = client.get(step_url("organisme"))
    assert response.status_code == 200  # the wizard kept its answers
    data = session_data(client)
    assert security.LOGIN_AT not in data
    assert security.ACTIVITY_AT not in data
    assert not AuditEntry.objects.filter(action="session.expired").exists()


def test_a_session_from_before_the_clocks_starts_them_at_its_next_request(client, clock):
    user = UserFactory()
    client.force_login(user)
    session = client.session
    del session[security.LOGIN_AT], session[security.ACTIVITY_AT]
    session.save()
    clock.advance(3600)
    assert client.get(reverse("dashboard")).status_code == 200
    data = session_data(client)
    assert data[security.LOGIN_AT] == data[security.ACTIVITY_AT] == int(T0 + 3600)


def test_the_session_holds_no_secret_from_the_clocks(client, member):
    data = session_data(client)
    assert {key for key in data if key.startswith("portal_")} == {security.LOGIN_AT, security.ACTIVITY_AT}
    assert all(isinstance(data[key], int) for key in (security.LOGIN_AT, security.ACTIVITY_AT))


# The pages in Chromium, under the policy -------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_chromium_runs_every_script_of_the_pages_and_reports_no_violation(live_server, monkeypatch):
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_FLAGS

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    staff = UserFactory(identifiant="agent", staff=True, is_superuser=True)
    MembershipFactory(user=staff)
    waiting = MembershipFactory(
        status=MembershipStatus.PENDING_STAFF, rule=OnboardingRule.R4_STAFF_VALIDATION
    )
    violations, errors = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        context = browser.new_context(locale="fr-FR")
        # Runs outside the page's policy (DevTools), and hears every refusal of the page.
        context.add_init_script(
            "document.addEventListener('securitypolicyviolation', function (event) {"
            " console.error('Content Security Policy: ' + event.violatedDirective + ' ' + event.blockedURI); });"
        )
        page = context.new_page()
        page.on(
            "console",
            lambda message: "Content Security Policy" in message.text and violations.append(message.text),
        )
        page.on("pageerror", lambda error: errors.append(str(error)))

        def visit(path, started="document.documentElement.getAttribute('data-fr-js') === 'true'"):
            page.goto(live_server.url + path)
            page.wait_for_load_state("networkidle")
            # The page's scripts ran: DSFR marks the document when it starts, the admin's theme.js
            # sets the theme.
            assert page.evaluate(started), path

        visit("/")
        visit(reverse("signup"))
        # signup.js: the functions offered follow the category chosen.
        page.locator("#id_fonction-category").select_option(label="Maîtres d'ouvrages")
        assert page.locator("#id_fonction-function optgroup[hidden]").count() > 0
        visit(reverse("login"))
        page.locator("#id_username").fill("agent")
        page.locator("#id_password").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url("**/espace/")
        for path in (reverse("dashboard"), reverse("services:catalogue"), reverse("password_change")):
            visit(path)
        admin_started = "document.documentElement.dataset.theme === 'auto'"
        for path in (
            reverse("admin:index"),
            reverse("admin:organisations_membership_change", args=[waiting.pk]),
            reverse("admin:audit_auditentry_changelist"),
            reverse("admin:organisations_membership_changelist"),
        ):
            visit(path, admin_started)
        # actions.js: the box of the column's head selects every row.
        page.locator("#action-toggle").check()
        assert (
            page.locator("input.action-select:checked").count() == page.locator("input.action-select").count()
        )
        browser.close()
    assert violations == []
    assert errors == []


@pytest.fixture(scope="session", autouse=True)
def _release_live_server_connections(django_db_setup, django_db_blocker):
    """The live server's thread may still hold a connection when the test database is dropped.
    Session-scoped: the live server is shared with the e2e tests, which must keep it connected."""
    yield
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
