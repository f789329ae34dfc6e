"""Tests: the embedded servers as in development; mail captured in memory unless a test says so."""

import os

from portal.embedded import use_embedded_services

use_embedded_services()
os.environ.setdefault("SECRET_KEY", "test-only-secret-key")

from portal.settings.base import *  # noqa: E402, F403

DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Unit tests run tasks in-process when the transaction commits; integration tests start a real
# worker against the same broker (tests/integration/).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CACHES["default"]["KEY_PREFIX"] = f"test-{os.getpid()}"  # noqa: F405
# Cheaper Argon2 parameters: the algorithm stays the same, tests stay fast.
PASSWORD_HASHERS = ["tests.hashers.FastArgon2PasswordHasher"]
# Static files straight from the apps, as in development: no collectstatic before the tests.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# One test database per run, so that two runs on the same (embedded) server never collide.
DATABASES["default"]["TEST"] = {"NAME": f"test_portal_{os.getpid()}"}  # noqa: F405
# Requests close their connection (the live server's thread must not hold the test database
# open when it is dropped).
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# No test reaches the registry's APIs unless it mocks them (responses) and turns this on.
SIRENE_LIVE_FETCH = False
