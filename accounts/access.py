"""Ways into an account without a password: the access link, the e-mailed login code, and the
reminder of forgotten identifiants.

Access link ("Création de mon accès technique"): a signed token carrying the user's id and a
fingerprint of their password hash and last login. It expires after PORTAL_ACCESS_LINK_HOURS and
serves once: choosing a password (or logging in) changes the fingerprint.

Login code ("m'envoyer un code"): PORTAL_EMAIL_CODE digits, random, stored as a salted HMAC,
valid ttl_minutes for max_tries tries. Whoever asks gets the same answer whether an account
matches or not: the pending id kept in their session then simply matches no code.
"""

import datetime
import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import base36_to_int

from accounts.models import LoginCode
from accounts.passwords import change_password
from mailings.services import queue_email
from portal import audit, ratelimit

ACCESS_LINK_SALT = "accounts.access.link"
LOGIN_CODE_SALT = "accounts.access.login-code"
IP_CODE_SENDS_PER_HOUR = 20
HOUR = 3600


def absolute_url(path: str, request=None) -> str:
    """The full address of a path of the portal: from the request, else from PORTAL_BASE_URL."""
    if request is not None:
        return request.build_absolute_uri(path)
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def find_login_user(login: str):
    """The one active user whose identifiant or e-mail is ``login`` (without regard to case).

    None when nobody matches, and when an address is shared by several accounts: as for the
    password login (accounts/backends.py), such an address cannot name an account.
    """
    login = (login or "").strip()
    if not login:
        return None
    candidates = list(
        get_user_model()
        ._default_manager.filter(Q(identifiant__iexact=login) | Q(email__iexact=login))
        .order_by("pk")[:2]
    )
    if len(candidates) != 1 or not candidates[0].is_active:
        return None
    return candidates[0]


# Access link ------------------------------------------------------------------------------------


def _fingerprint(user) -> str:
    # Microseconds and time zone dropped from last_login, as Django's reset tokens do.
    last_login = "" if user.last_login is None else user.last_login.replace(microsecond=0, tzinfo=None)
    value = f"{user.pk}:{user.password}:{last_login}:{user.email}"
    return salted_hmac(ACCESS_LINK_SALT, value, algorithm="sha256").hexdigest()[:32]


def make_access_token(user) -> str:
    return signing.dumps({"u": user.pk, "f": _fingerprint(user)}, salt=ACCESS_LINK_SALT)


def _read_token(token: str) -> tuple[int, str] | None:
    try:
        data = signing.loads(
            token,
            salt=ACCESS_LINK_SALT,
            max_age=datetime.timedelta(hours=settings.PORTAL_ACCESS_LINK_HOURS),
        )
    except signing.BadSignature:  # forged, damaged, or expired (SignatureExpired)
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("f"), str):
        return None
    return data["u"], data["f"]


def read_access_token(token: str, *, for_update: bool = False):
    """The active user an access token was made for, or None if it is invalid, expired or used."""
    content = _read_token(token)
    if content is None:
        return None
    pk, fingerprint = content
    users = get_user_model()._default_manager.filter(pk=pk, is_active=True)
    if for_update:
        users = users.select_for_update()
    user = users.first()
    if user is None or not constant_time_compare(_fingerprint(user), fingerprint):
        return None
    return user


@transaction.atomic
def send_access_link(*, user, request=None):
    """E-mail the user the link where they choose their password ("accès technique")."""
    url = absolute_url(reverse("access_link", args=[make_access_token(user)]), request)
    email = queue_email(
        to=user.email,
        template="access_link",
        context={
            "user": user,
            "url": url,
            "hours": settings.PORTAL_ACCESS_LINK_HOURS,
            "operator_name": settings.PORTAL_OPERATOR_NAME,
            "login_url": absolute_url(reverse("login"), request),
            "reset_url": absolute_url(reverse("password_reset"), request),
        },
    )
    audit.record("access.link_sent", target=user, request=request)
    return email


@transaction.atomic
def use_access_link(*, token: str, raw_password: str, request=None):
    """Set the password chosen through an access link; None if the link no longer serves.

    The user's row is locked, so that the same link sent twice at once sets one password.
    """
    user = read_access_token(token, for_update=True)
    if user is None:
        return None
    change_password(user=user, raw_password=raw_password, action="access.password_set", request=request)
    return user


# Reset link -------------------------------------------------------------------------------------


class ResetTokenGenerator(PasswordResetTokenGenerator):
    """Django's reset tokens (single use: they hash the password), valid as long as access links."""

    key_salt = "accounts.access.ResetTokenGenerator"

    def check_token(self, user, token):
        if not super().check_token(user, token):
            return False
        issued = base36_to_int(token.split("-")[0])
        return self._num_seconds(self._now()) - issued <= settings.PORTAL_ACCESS_LINK_HOURS * 3600


reset_token_generator = ResetTokenGenerator()


# Login code -------------------------------------------------------------------------------------


def _code_settings() -> dict:
    return settings.PORTAL_EMAIL_CODE


def hash_code(code: str, salt: str) -> str:
    """An HMAC of an e-mailed code with its row's salt: what is stored instead of the code."""
    return salted_hmac(f"{LOGIN_CODE_SALT}:{salt}", code, algorithm="sha256").hexdigest()


def new_code(length: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(length))


def send_login_code(*, login: str, request=None) -> uuid.UUID:
    """E-mail a login code to the account ``login`` names, if any; return the pending id.

    The id is what the visitor's session keeps. When no active account matches, or when the
    account's address already received max_sends_per_hour codes this hour, nothing is sent and
    the id matches no code: the visitor cannot tell the difference.
    """
    user = find_login_user(login)
    if user is None:
        return uuid.uuid4()
    if not ratelimit.allow(
        "login-code-address", user.email, limit=_code_settings()["max_sends_per_hour"], window=HOUR
    ):
        return uuid.uuid4()
    return _issue_login_code(user=user, request=request).uuid


@transaction.atomic
def _issue_login_code(*, user, request=None) -> LoginCode:
    options = _code_settings()
    now = timezone.now()
    # One code at a time: asking for a new one ends the previous ones.
    LoginCode.objects.filter(user=user, used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
    code = new_code(options["length"])
    salt = secrets.token_hex(16)
    login_code = LoginCode.objects.create(
        user=user,
        code_hash=hash_code(code, salt),
        salt=salt,
        created_at=now,
        expires_at=now + datetime.timedelta(minutes=options["ttl_minutes"]),
    )
    queue_email(
        to=user.email,
        template="login_code",
        context={
            "user": user,
            "code": code,
            "minutes": options["ttl_minutes"],
            "operator_name": settings.PORTAL_OPERATOR_NAME,
        },
    )
    audit.record("login.code_sent", target=user, request=request)
    return login_code


@dataclass(frozen=True)
class CodeCheck:
    """What typing a code gave: the user (right code), tries left (wrong code), or spent."""

    user: object = None
    remaining: int = 0
    spent: bool = False


def check_login_code(*, pending_id: str, code: str) -> CodeCheck:
    """Check a typed code against the pending login; each check uses one try.

    A pending id that matches no code (no account was found) counts its tries in the cache the
    same way, so that the answers are the same as for a real code.
    """
    max_tries = _code_settings()["max_tries"]
    with transaction.atomic():
        login_code = (
            LoginCode.objects.select_for_update().select_related("user").filter(uuid=pending_id).first()
        )
        if login_code is None:
            tries = ratelimit.hit("login-code-ghost", str(pending_id), window=HOUR)
            if tries > max_tries:
                return CodeCheck(spent=True)
            return CodeCheck(remaining=max_tries - tries)
        now = timezone.now()
        if (
            login_code.used_at is not None
            or login_code.expires_at <= now
            or login_code.tries >= max_tries
            or not login_code.user.is_active
        ):
            return CodeCheck(spent=True)
        login_code.tries += 1
        if constant_time_compare(hash_code(code, login_code.salt), login_code.code_hash):
            login_code.used_at = now
            login_code.save(update_fields=["tries", "used_at"])
            return CodeCheck(user=login_code.user)
        login_code.save(update_fields=["tries"])
        return CodeCheck(remaining=max_tries - login_code.tries)


# Forgotten identifiant -------------------------------------------------------------------------


def send_identifiant_reminder(*, email: str, request=None) -> int:
    """E-mail the identifiants of the active accounts of an address; return how many accounts.

    The caller answers the same whatever this returns. At most 5 reminders an hour per address.
    """
    users = list(
        get_user_model()
        ._default_manager.filter(email__iexact=email.strip(), is_active=True)
        .order_by("identifiant")
    )
    if not users or not ratelimit.allow("identifiant-reminder-address", email, limit=5, window=HOUR):
        return 0
    with transaction.atomic():
        queue_email(
            to=users[0].email,
            template="password_reset/identifiant",
            context={
                "users": users,
                "login_url": absolute_url(reverse("login"), request),
                "reset_url": absolute_url(reverse("password_reset"), request),
                "operator_name": settings.PORTAL_OPERATOR_NAME,
            },
        )
        for user in users:
            audit.record("identifiant.reminder_sent", target=user, request=request)
    return len(users)
