"""A real message: the outbox row, a real Celery worker on the embedded Redis, a real SMTP server."""

import subprocess
import sys
import time
import uuid
from email import message_from_bytes, policy
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection, transaction

from mailings.enums import EmailStatus
from mailings.services import queue_email
from portal.celery import app as celery_app
from tests.conftest import BASE_DIR, clean_env, free_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


class Inbox:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def _test_database_url() -> str:
    db = connection.settings_dict
    host = quote(db["HOST"], safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{host}{port}/{db['NAME']}"


@pytest.fixture
def worker(smtp_server):
    controller, _ = smtp_server
    queue = f"test-mail-{uuid.uuid4().hex[:8]}"
    env = clean_env(
        DJANGO_SETTINGS_MODULE="portal.settings.dev",
        DEBUG="false",
        DATABASE_URL=_test_database_url(),
        REDIS_URL=settings.REDIS_URL,
        EMAIL_URL=f"smtp://{controller.hostname}:{controller.port}",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", queue, "--pool=solo",
         "--loglevel=INFO", "--without-mingle", "--without-gossip", "--without-heartbeat"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_default_queue)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    yield process
    celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = previous
    process.terminate()
    output, _ = process.communicate(timeout=30)
    print(output)


def test_a_real_message_goes_through_a_real_worker_to_a_real_smtp_server(smtp_server, worker):
    _, inbox = smtp_server
    with transaction.atomic():
        email = queue_email(
            to="camille.martin@mairie-exemple.fr",
            template="test_message",
            context={"reference": "INTEG-1"},
        )

    deadline = time.monotonic() + 60
    while not inbox.envelopes and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.1)
    assert worker.poll() is None, "the worker died"
    assert len(inbox.envelopes) == 1
    envelope = inbox.envelopes[0]
    assert envelope.rcpt_tos == ["camille.martin@mairie-exemple.fr"]
    received = message_from_bytes(envelope.content, policy=policy.default)
    assert received["Subject"] == "Message de test du portail"
    assert "Référence : INTEG-1" in received.get_body(preferencelist=("plain",)).get_content()
    assert received["Message-ID"] == email.message_id

    deadline = time.monotonic() + 10
    email.refresh_from_db()
    while email.status != EmailStatus.SENT and time.monotonic() < deadline:
        time.sleep(0.1)
        email.refresh_from_db()
    assert email.status == EmailStatus.SENT
    assert email.attempts == 1
