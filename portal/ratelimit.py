"""Fixed-window counters in the cache (Redis), shared by every web process.

if not ratelimit.allow("signup-code-send", email, limit=5, window=3600):
    ...  # refuse, with a message saying when to try again
"""

import hashlib

from django.core.cache import cache


def _key(scope: str, subject: str, window: int) -> str:
    # Hash the subject: e-mail addresses and logins never appear in Redis in clear.
    digest = hashlib.sha256(f"{scope}:{subject.strip().lower()}".encode()).hexdigest()[:32]
    return f"rl:{scope}:{window}:{digest}"


def count(scope: str, subject: str, *, window: int) -> int:
    return cache.get(_key(scope, subject, window), 0)


def hit(scope: str, subject: str, *, window: int) -> int:
    """Count one event; returns the number of events in the current window, this one included."""
    key = _key(scope, subject, window)
    if cache.add(key, 1, timeout=window):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)
        return 1


def allow(scope: str, subject: str, *, limit: int, window: int) -> bool:
    """Count one event and say whether it is within the limit."""
    return hit(scope, subject, window=window) <= limit


def reset(scope: str, subject: str, *, window: int) -> None:
    cache.delete(_key(scope, subject, window))
