"""Daily jobs on accounts (Celery beat, CELERY_BEAT_SCHEDULE): thin wrappers of accounts/jobs.py."""

from dataclasses import asdict

from celery import shared_task

from accounts import jobs


@shared_task
def purge_pending_signups() -> dict:
    """Daily: forget abandoned signups and, after their retention period, confirmed ones."""
    return asdict(jobs.purge_pending_signups())


@shared_task
def purge_expired_login_codes() -> int:
    """Daily: delete the e-mailed login codes ended more than a day ago."""
    return jobs.purge_expired_login_codes()


@shared_task
def purge_unactivated_accounts() -> dict:
    """Daily: delete the accounts never activated after their retention period."""
    return asdict(jobs.purge_unactivated_accounts())


@shared_task
def notify_password_expiry() -> int:
    """Daily: tell users their password expires soon, once per password."""
    return jobs.notify_password_expiry()
