"""Settings of the Celery worker and beat the fault tests start: development settings (on the
DATABASE_URL, REDIS_URL and EMAIL_URL the test gives), with a relay that runs every 2 seconds
instead of every minute, and nothing else on beat's schedule."""

from portal.settings.dev import *  # noqa: F403

CELERY_BEAT_SCHEDULE = {
    "relay-pending-emails": {"task": "mailings.tasks.relay_pending_emails", "schedule": 2.0},
}
