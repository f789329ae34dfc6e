"""Shared by the tests of passwords, access links, login codes, resets and throttling."""

import html
import re

from django.core import mail

from accounts.passwords import password_validators
from portal.settings.presets import PRESETS

PASSWORD = "Mot-de-passe-solide-2026"  # the factories' password
CSRF_INPUT = re.compile(r'<input type="hidden" name="csrfmiddlewaretoken" value="[^"]*">')


def use_preset(settings, name: str) -> dict:
    """Switch the password policy, its validators and the e-mail codes to an operator preset."""
    policy = PRESETS[name]["PASSWORD_POLICY"]
    settings.PORTAL_PASSWORD_POLICY = policy
    settings.AUTH_PASSWORD_VALIDATORS = password_validators(policy)
    settings.PORTAL_EMAIL_CODE = PRESETS[name]["EMAIL_CODE"]
    return policy


def without_csrf(html: str) -> str:
    """A page's HTML without its CSRF token, which differs at every render."""
    return CSRF_INPUT.sub("", html)


def sent_to(address: str) -> list:
    return [message for message in mail.outbox if address in message.to]


def session_texts() -> list[str]:
    """The decoded data of every session in the store."""
    from django.contrib.sessions.models import Session

    return [str(session.get_decoded()) for session in Session.objects.all()]


class Clock:
    """Stands for accounts.throttle._now: time moves only when a test says so."""

    def __init__(self, start: float):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def text(response) -> str:
    """A response's HTML with its entities decoded (n&#x27;est → n'est)."""
    return html.unescape(response.content.decode())
