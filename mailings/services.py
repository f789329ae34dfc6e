"""The outbox: queue_email() writes the row, deliver() sends it exactly once."""

import datetime
import functools
import logging
import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.utils import timezone, translation
from kombu.exceptions import OperationalError as BrokerError

from mailings.enums import EmailStatus
from mailings.models import Email

logger = logging.getLogger(__name__)


def _render_text(name: str, context: dict) -> str:
    # Plain text is not HTML: no escaping of apostrophes and ampersands.
    return get_template(name).template.render(Context(context, autoescape=False))


def render_email(template: str, context: dict) -> tuple[str, str, str]:
    """Subject, plain text and HTML of templates/emails/<template>/{subject,body}.{txt,html}."""
    context = {
        "PORTAL_SITE_TITLE": settings.PORTAL_SITE_TITLE,
        "operator_short_name": settings.PORTAL_OPERATOR_SHORT_NAME,
        **context,
    }
    subject = " ".join(_render_text(f"emails/{template}/subject.txt", context).split())
    text = _render_text(f"emails/{template}/body.txt", context).strip() + "\n"
    html = render_to_string(f"emails/{template}/body.html", {**context, "subject": subject})
    return subject, text, html


def queue_email(*, to: str, template: str, context: dict | None = None, language: str = "fr") -> Email:
    """Write the e-mail in the caller's transaction and deliver it once that transaction commits.

    If the broker loses the task, relay_pending_emails() picks the row up later.
    """
    with translation.override(language):
        subject, text, html = render_email(template, context or {})
    email = Email.objects.create(
        template=template,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to_email=to,
        subject=subject[:255],
        body_text=text,
        body_html=html,
        next_attempt_at=timezone.now() + datetime.timedelta(seconds=settings.EMAIL_RELAY_AFTER_SECONDS),
    )
    transaction.on_commit(functools.partial(_hand_to_worker, email.pk))
    return email


def _hand_to_worker(email_id: int) -> None:
    """After the commit: give the e-mail to a worker. The caller's change is committed by now and
    must not fail because the broker is unreachable: the row stays pending for the relay."""
    from mailings.tasks import deliver_email

    try:
        deliver_email.delay(email_id)
    except BrokerError as error:  # unreachable, or refusing the message
        logger.warning("E-mail %s left to the relay, the broker did not take it: %s", email_id, error)


def _retry_delay(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(minutes=min(2**attempts, 240))


def deliver(email_id: int) -> EmailStatus | None:
    """Send one pending e-mail, at most once.

    The row is locked while it is sent: a second task for the same e-mail skips it, and finds it
    sent once the first commits. If the worker dies mid-send, the lock goes with its connection
    and the row stays pending for the relay. Returns the new status, or None if nothing was done.
    """
    with transaction.atomic():
        email = (
            Email.objects.select_for_update(skip_locked=True)
            .filter(pk=email_id, status=EmailStatus.PENDING)
            .first()
        )
        if email is None:
            return None
        message = EmailMultiAlternatives(
            subject=email.subject,
            body=email.body_text,
            from_email=email.from_email,
            to=[email.to_email],
            headers={"Message-ID": email.message_id, "X-Portal-Email": str(email.uuid)},
            connection=get_connection(fail_silently=False),
        )
        if email.body_html:
            message.attach_alternative(email.body_html, "text/html")
        email.attempts += 1
        try:
            message.send()
        except (smtplib.SMTPException, OSError) as error:
            email.last_error = f"{type(error).__name__}: {error}"[:2000]
            if email.attempts >= settings.EMAIL_MAX_ATTEMPTS:
                email.status = EmailStatus.FAILED
                logger.error("E-mail %s failed for good: %s", email.pk, email.last_error)
            else:
                email.next_attempt_at = timezone.now() + _retry_delay(email.attempts)
                logger.warning("E-mail %s not sent (attempt %s): %s", email.pk, email.attempts, error)
        else:
            email.status = EmailStatus.SENT
            email.sent_at = timezone.now()
            email.last_error = ""
        email.save(update_fields=["status", "attempts", "sent_at", "next_attempt_at", "last_error"])
        return email.status


def pending_email_ids(*, limit: int = 500) -> list[int]:
    """E-mails whose delivery is due: lost by the broker, or waiting for a retry."""
    return list(
        Email.objects.filter(status=EmailStatus.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
