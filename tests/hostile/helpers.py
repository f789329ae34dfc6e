"""What every hostile-input test checks: no 500, the error next to its field, nothing saved."""

import html
import re
import traceback
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from accounts.models import PendingSignup, User
from habilitations.models import Habilitation
from mailings.models import Email, Letter
from organisations.models import AdminClaim, EmailChange, Membership
from portal.audit.models import AuditEntry

# Audit entries that record a try, not a change: a wrong code or password is counted on purpose.
TRIES = {"login.failed", "signup.code_failed", "admin_claim.code_failed", "admin_claim.blocked"}
# Django's own messages left untranslated would start so.
ENGLISH = re.compile(
    r"\b(This field|Ensure this|Enter a|Select a|Null characters|is not one of|The two password|"
    r"This password|Your password|Please)\b"
)


def visitor(user=None) -> Client:
    """A browser whose 500s come back as responses (with their traceback) instead of exceptions."""
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def forget_counters() -> None:
    """Forget this run's rate-limit and throttle counters (as tests/conftest.py does after each
    test), so that every example meets the form itself, not a limit left by the previous ones."""
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(f"{settings.CACHES['default']['KEY_PREFIX']}:*", count=1000))
    if keys:
        client.delete(*keys)


def post(client: Client, url: str, data: dict, *, urlencoded: bool = False):
    """POST as a browser does: multipart, or application/x-www-form-urlencoded."""
    if urlencoded:
        return client.post(url, urlencode(data, doseq=True), content_type="application/x-www-form-urlencoded")
    return client.post(url, data)


def answered(response, allowed=None):
    """The response, after checking it is no server error (else the test fails with its traceback)."""
    if response.status_code >= 500:
        trace = "".join(traceback.format_exception(*response.exc_info)) if response.exc_info else ""
        pytest.fail(f"{response.status_code} on {response.request['PATH_INFO']!r}\n{trace}")
    if allowed is not None:
        assert response.status_code in allowed, response.status_code
    return response


def page(response) -> str:
    return html.unescape(response.content.decode())


def error_next_to(content: str, field_id: str) -> str:
    """The first error the page shows under a field: its error list, or the DSFR messages of a
    password field (accounts/_password_field.html) or of the admin's services checkboxes
    (organisations/gestion/_services_field.html)."""
    field_id = re.escape(field_id)
    found = re.search(
        rf'<ul class="errorlist" id="{field_id}_error"><li[^>]*>(.*?)</li>', content, re.DOTALL
    ) or (
        re.search(
            rf'<div class="fr-messages-group" id="{field_id}(?:-desc-error|-messages)"[^>]*>\s*'
            r'<p class="fr-message fr-message--error">(.*?)</p>',
            content,
            re.DOTALL,
        )
    )
    return text_of(found.group(1)) if found else ""


def error_summary(content: str) -> str:
    """The error summary at the top of the form (portal/_form_errors.html), as text."""
    found = re.search(
        r'<div class="fr-alert fr-alert--error[^"]*"[^>]*id="form-errors">(.*?)</div>', content, re.DOTALL
    )
    return text_of(found.group(1)) if found else ""


def text_of(fragment: str) -> str:
    """An HTML fragment's text: tags removed, then entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def assert_french(message: str) -> None:
    assert message, "no message"
    assert not ENGLISH.search(message), f"not a French message: {message!r}"


def assert_refused_next_to(response, field_id: str) -> str:
    """The page is shown again, with the field's error under it and in the summary at the top."""
    answered(response)
    assert response.status_code == 200, response.status_code
    content = response.content.decode()
    error = error_next_to(content, field_id)
    assert error, f"no error next to {field_id}; the summary says: {error_summary(content)[:500]!r}"
    assert_french(error)
    assert error in error_summary(content), f"{error!r} not in the summary"
    return error


def rows() -> dict:
    """How many rows a request could have added; changes recorded in the audit log, not tries."""
    return {
        "users": User.objects.count(),
        "memberships": Membership.objects.count(),
        "pending signups": PendingSignup.objects.count(),
        "habilitations": Habilitation.objects.count(),
        "e-mail changes": EmailChange.objects.count(),
        "admin claims": AdminClaim.objects.count(),
        "e-mails": Email.objects.count(),
        "letters": Letter.objects.count(),
        "audited changes": AuditEntry.objects.exclude(action__in=TRIES).count(),
    }


def state(*objects) -> list[dict]:
    """The stored values of some rows, to compare before and after a request."""
    return [type(obj).objects.filter(pk=obj.pk).values().first() for obj in objects]
