import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_env(**overrides) -> dict:
    """The environment of a child process, without what the test settings put in this one's.

    An override of None removes the variable.
    """
    inherited = {"DATABASE_URL", "REDIS_URL", "PORTAL_EMBEDDED", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
    env = {key: value for key, value in os.environ.items() if key not in inherited}
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def run_python(code: str, **env_overrides) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=clean_env(**env_overrides),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(autouse=True)
def _clear_cache():
    """Forget this run's rate-limit counters after each test. Only this run's keys: cache.clear()
    would flush the whole Redis database, under the feet of another test run sharing it."""
    from django.conf import settings
    from django.core.cache import cache

    yield
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(f"{settings.CACHES['default']['KEY_PREFIX']}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _forget_lists():
    """The lists each process keeps (organisations.lists) would outlive the test's rolled-back rows."""
    from organisations import lists

    lists.forget()
    yield
    lists.forget()


@pytest.fixture(autouse=True)
def _french():
    # A request in English leaves its language active in the thread: start each test in French.
    from django.utils import translation

    translation.activate("fr")
    yield
    translation.deactivate()
