"""Security headers of the pages (Content-Security-Policy, Permissions-Policy) and the limits on
an authenticated session's life (idle and absolute timeouts).

The policies and the timeouts are settings (portal/settings/security.py).
"""

import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.contrib.messages.storage import default_storage
from django.http import HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from portal import audit

# Session keys: Unix times, in whole seconds. Nothing secret.
LOGIN_AT = "portal_login_at"
ACTIVITY_AT = "portal_activity_at"
# The last activity is written at most this often, so that browsing does not save the session at
# every request; the idle timeout is therefore exact to within this many seconds.
ACTIVITY_RESOLUTION = 60


def _now() -> float:
    """The clock of the session timeouts (tests replace it)."""
    return time.time()


# Content-Security-Policy --------------------------------------------------------------------------


def parse_policy(policy: dict | str) -> dict[str, list[str]]:
    """{directive: [sources]} from a policy given as such a dict or as a header value."""
    if isinstance(policy, dict):
        return {
            directive: [sources] if isinstance(sources, str) else list(sources)
            for directive, sources in policy.items()
        }
    directives = {}
    for part in policy.split(";"):
        if part.strip():
            directive, *sources = part.split()
            directives.setdefault(directive.lower(), sources)  # browsers ignore a repeated directive
    return directives


def policy_header(policy: dict | str) -> str:
    return "; ".join(" ".join([directive, *sources]) for directive, sources in parse_policy(policy).items())


def allow_sources(response, directive: str, *sources: str):
    """Widen the policy of this response only. For a form whose answer redirects to a service of
    the operator elsewhere (browsers check the redirect against form-action):
    ``allow_sources(response, "form-action", service.url)``. URLs are reduced to their origin."""
    extra = response.__dict__.setdefault("portal_csp_sources", {}).setdefault(directive, [])
    for source in sources:
        parts = urlsplit(source)
        if parts.scheme in {"http", "https"} and parts.netloc:
            source = f"{parts.scheme}://{parts.netloc}"
        if source not in extra:
            extra.append(source)
    return response


# Directives that do not fall back to default-src: left out, they allow everything.
_WITHOUT_FALLBACK = {"base-uri", "form-action", "frame-ancestors", "sandbox"}


def _widened(policy: dict[str, list[str]], extra: dict[str, list[str]]) -> dict[str, list[str]]:
    for directive, sources in extra.items():
        if directive not in policy and directive in _WITHOUT_FALLBACK:
            continue
        # 'none' goes once something is allowed.
        current = [s for s in policy.get(directive, policy.get("default-src", [])) if s != "'none'"]
        policy[directive] = current + [s for s in sources if s not in current]
    return policy


class ContentSecurityPolicyMiddleware:
    """Adds PORTAL_CSP and PORTAL_PERMISSIONS_POLICY to every HTML page.

    No page needs an inline script: scripts are files under static/, executed only from our
    origin ('self'); a view that sets its own Content-Security-Policy keeps it.
    Cross-Origin-Opener-Policy comes from Django's SecurityMiddleware
    (SECURE_CROSS_ORIGIN_OPENER_POLICY).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        policy = _widened(parse_policy(settings.PORTAL_CSP), getattr(response, "portal_csp_sources", {}))
        response.headers.setdefault("Content-Security-Policy", policy_header(policy))
        if settings.PORTAL_PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PORTAL_PERMISSIONS_POLICY)
        return response


# Session timeouts ---------------------------------------------------------------------------------


def _stamp_login(sender, request, user, **kwargs):
    """Every way of logging in (password, e-mailed code, access link) starts the clocks anew."""
    session = getattr(request, "session", None)
    if session is not None:
        now = int(_now())
        session[LOGIN_AT] = now
        session[ACTIVITY_AT] = now


user_logged_in.connect(_stamp_login, dispatch_uid="portal.security.stamp_login")


def expiry_reason(session, now: float) -> str | None:
    """Why the session is over: "absolute" when the login is older than
    PORTAL_SESSION_ABSOLUTE_SECONDS, "idle" when the last activity recorded is older than
    PORTAL_SESSION_IDLE_SECONDS; None while it lives."""
    login_at = session.get(LOGIN_AT)
    activity_at = session.get(ACTIVITY_AT)
    if login_at is not None and now - login_at > settings.PORTAL_SESSION_ABSOLUTE_SECONDS:
        return "absolute"
    if activity_at is not None and now - activity_at > settings.PORTAL_SESSION_IDLE_SECONDS:
        return "idle"
    return None


class SessionTimeoutMiddleware:
    """Logs a user out after PORTAL_SESSION_IDLE_SECONDS without a request, or
    PORTAL_SESSION_ABSOLUTE_SECONDS after they logged in, whatever they do meanwhile.

    The expiry is audited ("session.expired") and the user is sent to the login page with a
    message, and back to the page they asked for once logged in again. Anonymous sessions (the
    signup wizard) are left alone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = _now()
            reason = expiry_reason(request.session, now)
            if reason is not None:
                return self._expire(request, user, reason)
            self._record_activity(request.session, now)
        return self.get_response(request)

    @staticmethod
    def _record_activity(session, now: float) -> None:
        activity_at = session.get(ACTIVITY_AT)
        if activity_at is not None and now - activity_at < ACTIVITY_RESOLUTION:
            return
        if session.get(LOGIN_AT) is None:
            # A session opened before these clocks existed: they start now.
            session[LOGIN_AT] = int(now)
        session[ACTIVITY_AT] = int(now)

    def _expire(self, request, user, reason: str):
        audit.record("session.expired", actor=user, request=request, details={"reason": reason})
        logout(request)
        login_url = resolve_url(settings.LOGIN_URL)
        next_url = self._next_url(request)
        if next_url and urlsplit(next_url).path != login_url:
            response = redirect_to_login(next_url, login_url)
        else:
            response = HttpResponseRedirect(login_url)
        # MessageMiddleware comes after this one and has not run: store the message ourselves.
        storage = default_storage(request)
        storage.add(messages.WARNING, _("Votre session a expiré : reconnectez-vous."))
        storage.update(response)
        return response

    @staticmethod
    def _next_url(request) -> str:
        """Where to go once logged in again: the page asked for or, when a form was sent, the
        page of that form (what was sent is not replayed)."""
        if request.method in {"GET", "HEAD"}:
            return request.get_full_path()
        referer = request.headers.get("Referer", "")
        if url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            parts = urlsplit(referer)
            return parts.path + (f"?{parts.query}" if parts.query else "")
        return ""
