import datetime
import smtplib

import pytest
from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from mailings import services, tasks
from mailings.enums import EmailStatus
from mailings.models import Email

pytestmark = pytest.mark.django_db


def _queue(to="camille.martin@mairie-exemple.fr"):
    return services.queue_email(to=to, template="test_message", context={"reference": "R-42"})


def test_an_email_is_written_in_the_callers_transaction_and_delivered_after_commit(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        email = _queue()
        assert mail.outbox == []  # nothing leaves before the transaction commits
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT
    assert email.sent_at is not None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["camille.martin@mairie-exemple.fr"]
    assert message.subject == "Message de test du portail"
    assert "Référence : R-42" in message.body
    assert "Référence : R-42" in message.alternatives[0][0]
    assert message.extra_headers["Message-ID"] == email.message_id


def test_a_rolled_back_transaction_leaves_no_email_and_sends_nothing(
    django_capture_on_commit_callbacks,
):
    class Abort(Exception):
        pass

    def queue_then_fail():
        with transaction.atomic():
            _queue()
            raise Abort

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Abort):
        queue_then_fail()
    assert Email.objects.count() == 0
    assert mail.outbox == []


def test_a_task_that_runs_twice_sends_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        email = _queue()
    assert tasks.deliver_email(email.pk) is None
    assert tasks.deliver_email(email.pk) is None
    assert len(mail.outbox) == 1


class BrokenBackend:
    def __init__(self, **kwargs):
        pass

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("connexion fermée")


@override_settings(EMAIL_BACKEND="tests.mailings.test_outbox.BrokenBackend", EMAIL_MAX_ATTEMPTS=2)
def test_failures_are_retried_with_backoff_then_recorded():
    email = _queue()
    before = timezone.now()
    assert services.deliver(email.pk) == EmailStatus.PENDING
    email.refresh_from_db()
    assert email.attempts == 1
    assert "SMTPServerDisconnected: connexion fermée" in email.last_error
    assert email.next_attempt_at >= before + datetime.timedelta(minutes=2)

    assert services.deliver(email.pk) == EmailStatus.FAILED
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.FAILED, 2)
    assert services.deliver(email.pk) is None  # a failed e-mail is not tried again


def test_the_relay_delivers_what_the_broker_lost():
    lost = _queue()  # its task never ran: no commit callback here
    Email.objects.filter(pk=lost.pk).update(next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))
    recent = _queue(to="autre@mairie-exemple.fr")  # not due yet: its own task is on the way

    assert tasks.relay_pending_emails() == 1
    lost.refresh_from_db()
    recent.refresh_from_db()
    assert lost.status == EmailStatus.SENT
    assert recent.status == EmailStatus.PENDING
    assert [message.to for message in mail.outbox] == [["camille.martin@mairie-exemple.fr"]]


def test_emails_are_visible_to_staff_in_the_admin(admin_client):
    email = _queue()
    page = admin_client.get("/admin/mailings/email/").content.decode()
    assert "Message de test du portail" in page
    assert admin_client.get(f"/admin/mailings/email/{email.pk}/change/").status_code == 200
