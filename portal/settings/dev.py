"""Development: the embedded PostgreSQL and Redis under var/ unless DATABASE_URL / REDIS_URL are set."""

import os

from portal.embedded import use_embedded_services

use_embedded_services()
os.environ.setdefault("SECRET_KEY", "dev-only-secret-key-not-for-production")
os.environ.setdefault("EMAIL_URL", "file://var/mail")

from portal.settings.base import *  # noqa: E402, F403
from portal.settings.base import VAR_DIR, env  # noqa: E402

DEBUG = env.get_bool("DEBUG", True)
ALLOWED_HOSTS = env.get_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "run" / "celerybeat-schedule")
