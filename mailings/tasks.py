from celery import shared_task

from mailings import services


@shared_task
def deliver_email(email_id: int) -> str | None:
    return services.deliver(email_id)


@shared_task
def relay_pending_emails() -> int:
    """Periodic: hand again to the workers the e-mails whose delivery is due."""
    email_ids = services.pending_email_ids()
    for email_id in email_ids:
        deliver_email.delay(email_id)
    return len(email_ids)
