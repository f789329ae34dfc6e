"""Login throttling, per typed login and per client address, in the cache (Redis).

The typed login is counted whether or not an account answers to it, so that the throttle
behaves the same for both and tells nothing about which accounts exist.

- After 5 failures in a day, for a login or for an address, each new try waits: 1 minute after
  the 5th failure, then 2, 4, 8… (at most an hour).
- After 10 failures in a day for one login, that login is locked for 24 hours; a new password
  (reset link) lifts the lock.
- One address may fail at most 25 times a day, then it is refused until the day's window ends.

Only one password or code check runs at a time for one login, so that a burst of parallel
requests cannot try more passwords than the counters allow.

    attempt = throttle.begin_attempt(login=login, ip=ip)  # raises Refused
    ... check the password ...
    throttle.record_failure(attempt, request=request) or throttle.record_success(attempt)
"""

import hashlib
import math
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal import audit, ratelimit

DAY = 24 * 3600
WAIT_AFTER = 5  # failures before each try waits
LOCK_AFTER = 10  # failures of one login in a day before it is locked
LOCK_SECONDS = DAY
IP_DAILY_LIMIT = 25  # failures of one address in a day
MAX_WAIT_MINUTES = 60
ATTEMPT_SECONDS = 30  # how long one check may hold its login's turn

LOGIN_FAILURES = "login-failures"
IP_FAILURES = "login-failures-ip"


class Refused(Exception):
    """The try is refused without checking anything; ``message`` says why and for how long."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Attempt:
    login: str
    ip: str | None


def normalise(login: str) -> str:
    return (login or "").strip().lower()


def _now() -> float:
    return time.time()


def _key(scope: str, subject: str) -> str:
    # Logins and addresses never appear in the cache in clear (as in portal.ratelimit).
    digest = hashlib.sha256(f"{scope}:{subject}".encode()).hexdigest()[:32]
    return f"throttle:{scope}:{digest}"


def _until(scope: str, subject: str) -> float:
    return cache.get(_key(scope, subject), 0)


def _set_until(scope: str, subject: str, seconds: float) -> float:
    until = _now() + seconds
    # The cache entry outlives the deadline a little; the deadline itself decides.
    cache.set(_key(scope, subject), until, timeout=int(seconds) + 60)
    return until


def wait_minutes(failures: int) -> int:
    """Minutes to wait before the next try after ``failures`` failures (0: no wait)."""
    if failures < WAIT_AFTER:
        return 0
    return min(2 ** (failures - WAIT_AFTER), MAX_WAIT_MINUTES)


def locked_message() -> str:
    return _(
        "Après de trop nombreuses tentatives, la connexion avec cet identifiant est bloquée pendant "
        "24 heures. Pour vous connecter dès maintenant, choisissez un nouveau mot de passe avec "
        "« Mot de passe oublié »."
    )


def check(*, login: str, ip: str | None) -> None:
    """Raise Refused if a try for this login from this address must not happen now."""
    login = normalise(login)
    now = _now()
    if _until("lock", login) > now:
        raise Refused(locked_message(), "locked")
    if ip and ratelimit.count(IP_FAILURES, ip, window=DAY) >= IP_DAILY_LIMIT:
        raise Refused(
            _(
                "Trop de tentatives de connexion ont échoué depuis votre adresse réseau aujourd'hui. "
                "Réessayez dans 24 heures, ou choisissez un nouveau mot de passe avec « Mot de passe "
                "oublié »."
            ),
            "ip_daily_limit",
        )
    deadline = max(_until("wait", login), _until("wait-ip", ip) if ip else 0)
    if deadline > now:
        minutes = max(1, math.ceil((deadline - now) / 60))
        raise Refused(
            ngettext(
                "Trop de tentatives de connexion ont échoué. Patientez %(minutes)d minute avant de "
                "réessayer.",
                "Trop de tentatives de connexion ont échoué. Patientez %(minutes)d minutes avant de "
                "réessayer.",
                minutes,
            )
            % {"minutes": minutes},
            "wait",
        )


def begin_attempt(*, login: str, ip: str | None) -> Attempt:
    """Check the throttle and take this login's turn; raise Refused if the try must not happen."""
    check(login=login, ip=ip)
    attempt = Attempt(login=normalise(login), ip=ip or None)
    if not cache.add(_key("attempt", attempt.login), 1, timeout=ATTEMPT_SECONDS):
        raise Refused(
            _(
                "Une tentative de connexion est déjà en cours pour cet identifiant. Réessayez dans un instant."
            ),
            "busy",
        )
    return attempt


def release(attempt: Attempt) -> None:
    cache.delete(_key("attempt", attempt.login))


def record_failure(attempt: Attempt, *, request=None, method: str = "password") -> None:
    """Count a failed try for the login and the address; wait, lock and audit as the rules say."""
    try:
        failures = ratelimit.hit(LOGIN_FAILURES, attempt.login, window=DAY)
        details = {"login": attempt.login, "method": method, "failures": failures}
        audit.record("login.failed", request=request, ip_address=attempt.ip, details=details)
        if failures >= LOCK_AFTER:
            _set_until("lock", attempt.login, LOCK_SECONDS)
            # The lock replaces the count: once it ends, the login starts afresh.
            ratelimit.reset(LOGIN_FAILURES, attempt.login, window=DAY)
            cache.delete(_key("wait", attempt.login))
            audit.record(
                "login.locked",
                request=request,
                ip_address=attempt.ip,
                details={"login": attempt.login, "hours": LOCK_SECONDS // 3600},
            )
        elif minutes := wait_minutes(failures):
            _set_until("wait", attempt.login, minutes * 60)
        if attempt.ip:
            ip_failures = ratelimit.hit(IP_FAILURES, attempt.ip, window=DAY)
            if minutes := wait_minutes(ip_failures):
                _set_until("wait-ip", attempt.ip, minutes * 60)
    finally:
        release(attempt)


def record_success(attempt: Attempt) -> None:
    """The login is proven: its failures are forgotten (the address's are not)."""
    try:
        clear(attempt.login)
    finally:
        release(attempt)


def clear(login: str) -> None:
    """Forget a login's failures, wait and lock."""
    login = normalise(login)
    ratelimit.reset(LOGIN_FAILURES, login, window=DAY)
    cache.delete_many([_key("wait", login), _key("lock", login)])


def clear_user(user) -> None:
    """Forget the failures, wait and lock of both logins of a user (identifiant and e-mail)."""
    for login in {user.identifiant, user.email}:
        if login:
            clear(login)
