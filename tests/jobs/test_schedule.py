"""Celery beat runs every periodic job, each a task that exists, at a sensible hour of Paris."""

from dataclasses import asdict

import pytest
from celery import Task
from celery.schedules import crontab
from django.conf import settings
from django.utils.module_loading import import_string

from accounts import jobs, tasks
from tests.conftest import run_python
from tests.jobs.helpers import runs
from tests.portal.test_settings import production_env

DAILY_JOBS = {
    "purge-expired-login-codes": ("accounts.tasks.purge_expired_login_codes", crontab(hour=4, minute=0)),
    "purge-pending-signups": ("accounts.tasks.purge_pending_signups", crontab(hour=4, minute=10)),
    "purge-unactivated-accounts": ("accounts.tasks.purge_unactivated_accounts", crontab(hour=4, minute=20)),
    "notify-password-expiry": ("accounts.tasks.notify_password_expiry", crontab(hour=8, minute=0)),
    "expire-admin-claims": ("organisations.tasks.expire_admin_claims", crontab(hour=6, minute=0)),
    "remind-admin-claims": ("organisations.tasks.remind_admin_claims", crontab(hour=6, minute=10)),
}


@pytest.mark.parametrize("name", sorted(settings.CELERY_BEAT_SCHEDULE))
def test_every_scheduled_task_exists(name):
    path = settings.CELERY_BEAT_SCHEDULE[name]["task"]
    task = import_string(path)
    assert isinstance(task, Task)
    assert task.name == path


@pytest.mark.parametrize(("name", "expected"), sorted(DAILY_JOBS.items()))
def test_the_jobs_run_daily_in_paris_time(name, expected):
    task, schedule = expected
    assert settings.CELERY_BEAT_SCHEDULE[name] == {"task": task, "schedule": schedule}
    assert settings.CELERY_TIMEZONE == "Europe/Paris"


@pytest.mark.django_db
def test_the_tasks_run_the_jobs_and_return_their_counts():
    assert tasks.purge_pending_signups.delay().get() == asdict(jobs.SignupPurge(abandoned=0, completed=0))
    assert tasks.purge_expired_login_codes.delay().get() == 0
    assert tasks.purge_unactivated_accounts.delay().get() == {"deleted": 0, "open_claim": 0, "protected": 0}
    assert tasks.notify_password_expiry.delay().get() == 0
    for job in ("purge_pending_signups", "purge_expired_login_codes", "purge_unactivated_accounts"):
        assert len(runs(job)) == 1
    assert len(runs("notify_password_expiry")) == 1


def test_the_retention_periods_come_from_the_environment():
    names = [
        "PORTAL_PENDING_SIGNUP_RETENTION_DAYS",
        "PORTAL_UNACTIVATED_ACCOUNT_RETENTION_DAYS",
        "PORTAL_PASSWORD_EXPIRY_NOTICE_DAYS",
    ]
    code = "import django; django.setup(); from django.conf import settings; " + "; ".join(
        f"print(settings.{name})" for name in names
    )
    defaults = run_python(code, **production_env())
    assert defaults.returncode == 0, defaults.stderr
    assert defaults.stdout.split() == ["30", "90", "14"]

    chosen = run_python(
        code,
        **production_env(
            PORTAL_PENDING_SIGNUP_RETENTION_DAYS="7",
            PORTAL_UNACTIVATED_ACCOUNT_RETENTION_DAYS="365",
            PORTAL_PASSWORD_EXPIRY_NOTICE_DAYS="30",
        ),
    )
    assert chosen.stdout.split() == ["7", "365", "30"]

    too_short = run_python(code, **production_env(PORTAL_UNACTIVATED_ACCOUNT_RETENTION_DAYS="7"))
    assert too_short.returncode != 0
    assert "PORTAL_UNACTIVATED_ACCOUNT_RETENTION_DAYS doit être au moins 30, pas 7." in too_short.stderr
