"""Mail survives faults (DESIGN §8: "Redis down means delayed mail, never lost mail").

Real processes: a Redis of the test's own that it stops and starts, Celery workers (prefork, two
processes) and beat (the relay every 2 seconds: tests/faults/celery_settings.py) on the test
database, an aiosmtpd server that records the X-Portal-Email header (the outbox row's uuid) of each
message it accepts.
"""

import itertools
import random
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from accounts.models import PendingSignup
from accounts.services import _code_hash, verify_signup_code
from mailings.enums import EmailStatus, LetterStatus
from mailings.models import Email, Letter
from mailings.services import queue_email
from organisations.models import AdminClaim, Category
from portal.celery import app as celery_app
from tests.conftest import free_port
from tests.integration.fixtures import (
    Inbox,
    ThrowawayRedis,
    broker_for_this_process,
    celery_env,
    smtp_server,
    start_beat,
    start_worker,
    wait_for,
)
from tests.organisations.factories import EstablishmentFactory

WORKER_SETTINGS = "tests.faults.celery_settings"
SIGNUPS = 200
BATCH = 1000
KILL_AFTER = 300
CONCURRENCY = 2
# As many threads as the Celery app keeps broker connections (broker_pool_limit).
WEB_THREADS = 10


@pytest.fixture
def redis(tmp_path):
    server = ThrowawayRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def processes():
    """The Celery processes a test starts: stopped at the end, their output printed."""
    started = []
    yield started
    for process in started:
        process.terminate()
    for process in reversed(started):
        process.stop()
        print(f"----- celery {process.process.args[5]}\n{process.output}")


@pytest.fixture
def fault_settings(settings):
    # queue_email() runs here: the relay may hand an e-mail again 1 s after it was written.
    settings.EMAIL_RELAY_AFTER_SECONDS = 1
    return settings


def queue_length(redis: ThrowawayRedis) -> int:
    with socket.create_connection(("127.0.0.1", redis.port), timeout=2) as client:
        client.sendall(b"LLEN celery\r\n")
        return int(client.recv(64).strip().lstrip(b":"))


def wait_until_drained(redis: ThrowawayRedis, *, timeout: float = 60) -> None:
    """Until the broker's queue is empty twice in a row 1 s apart: whatever the relay handed
    again has run by then (a duplicate delivery would have reached the inbox)."""
    wait_for(lambda: queue_length(redis) == 0, timeout=timeout, message="the queue was not drained")
    time.sleep(1)
    wait_for(lambda: queue_length(redis) == 0, timeout=timeout, message="the queue was not drained")
    time.sleep(0.5)


def database_now():
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def other_database_sessions(*, since) -> int:
    """Sessions on the test database opened since ``since`` by other processes (the workers'):
    not those of a live server another test left running."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND backend_start >= %s",
            [since],
        )
        return cursor.fetchone()[0]


def prepare_signups(count: int, *, organisations: int) -> list[PendingSignup]:
    """Signups whose e-mail code is 123456, spread over a few organisations (signups in one
    organisation take its lock in turn)."""
    establishments = [EstablishmentFactory() for _ in range(organisations)]
    category = Category.objects.get(name="Porteurs de projets")
    function = category.functions.first()
    pendings = []
    for number in range(count):
        data = {
            "category": category.pk,
            "function": function.pk,
            "title": "Chargé de mission",
            "flags": [],
            "civilite": "mme",
            "first_name": "Camille",
            "last_name": f"Martin{number}",
            "siret": establishments[number % organisations].siret,
            "departement": "54",
            "address": "1 PL DE L'HOTEL DE VILLE",
            "address_complement": "",
            "postal_code": "54000",
            "city": "NANCY",
            "email": f"inscrit{number}@mairie-exemple.fr",
            "phone_landline": "+33383000000",
            "phone_mobile": "",
            "cgu_version": "2026-01",
            "identifiant": f"inscrit{number}",
            "services": [],
            "accepts_admin_role": False,
        }
        pending = PendingSignup(email=data["email"], data=data, code_expires_at="2999-01-01T00:00:00Z")
        pending.code_hash = _code_hash(pending.token, "123456")
        pending.save()
        pendings.append(pending)
    return pendings


def complete(pending: PendingSignup):
    """What the signup page does with the right code, in a thread of its own (a web process)."""
    try:
        return verify_signup_code(pending=pending, code="123456")
    except Exception as error:
        return error
    finally:
        connection.close()


def test_celery_acknowledges_late_requeues_on_worker_lost_and_prefetches_one():
    conf = celery_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1


@pytest.mark.django_db
def test_an_email_queued_while_the_broker_is_unreachable_is_committed_and_left_to_the_relay(
    django_capture_on_commit_callbacks, caplog
):
    nothing_listens = f"redis://127.0.0.1:{free_port()}/0"
    with broker_for_this_process(nothing_listens), django_capture_on_commit_callbacks(execute=True):
        email = queue_email(to="camille.martin@mairie-exemple.fr", template="test_message", context={})

    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.PENDING, 0)
    assert f"E-mail {email.pk} left to the relay" in caplog.text


@pytest.mark.django_db
def test_a_first_user_confirming_while_the_broker_is_unreachable_gets_the_letter_and_the_mail(
    settings, django_capture_on_commit_callbacks, caplog
):
    """Letters never wait on the broker: the PDF is written with the claim, in its transaction;
    the e-mails that tell of it are left to the relay."""
    settings.PORTAL_ONBOARDING_RULES = ["R1", "R3"]
    (pending,) = prepare_signups(1, organisations=1)
    pending.data["accepts_admin_role"] = True
    pending.save()
    nothing_listens = f"redis://127.0.0.1:{free_port()}/0"
    with broker_for_this_process(nothing_listens), django_capture_on_commit_callbacks(execute=True):
        verify_signup_code(pending=pending, code="123456")

    letter = Letter.objects.get()
    assert (letter.status, letter.template) == (LetterStatus.TO_PRINT, "admin_activation")
    assert letter.pdf.startswith(b"%PDF")
    assert AdminClaim.objects.get().letter == letter
    emails = Email.objects.all()
    assert emails
    assert {email.status for email in emails} == {EmailStatus.PENDING}
    assert caplog.text.count(" left to the relay, the broker did not take it") == len(emails)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_mail_of_signups_completed_while_redis_is_down_is_delivered_once_when_it_is_back(
    fault_settings, tmp_path, redis, processes, caplog
):
    # Staff validation (R4): each registration is told by e-mail that it waits for the operator.
    fault_settings.PORTAL_ONBOARDING_RULES = []
    fault_settings.PORTAL_STAFF_EMAIL = ""
    pendings = prepare_signups(SIGNUPS, organisations=20)
    inbox = Inbox()
    with smtp_server(inbox) as email_url, broker_for_this_process(redis.url):
        env = celery_env(broker_url=redis.url, email_url=email_url, settings=WORKER_SETTINGS)
        processes.append(start_beat(env, schedule_file=tmp_path / "beat-schedule", wait=False))
        processes.append(start_worker(env, concurrency=CONCURRENCY))
        processes[0].wait_ready()

        redis.stop()
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=WEB_THREADS) as pool:
            outcomes = list(pool.map(complete, pendings))
        down_for = time.monotonic() - started

        assert [outcome for outcome in outcomes if isinstance(outcome, Exception)] == []
        assert all(outcome.created for outcome in outcomes)
        emails = {str(uuid) for uuid in Email.objects.values_list("uuid", flat=True)}
        assert len(emails) >= SIGNUPS
        assert caplog.text.count(" left to the relay, the broker did not take it") == len(emails)
        assert inbox.accepted == []

        redis.start()
        started = time.monotonic()
        wait_for(
            lambda: not Email.objects.filter(status=EmailStatus.PENDING).exists(),
            timeout=180,
            interval=0.2,
            message="e-mails still pending after Redis came back",
        )
        back_in = time.monotonic() - started
        wait_until_drained(redis)

    print(f"{len(emails)} e-mails; Redis down {down_for:.1f} s; all delivered {back_in:.1f} s after")
    assert inbox.counts() == dict.fromkeys(emails, 1)
    rows = Email.objects.values_list("status", "attempts")
    assert set(rows) == {(EmailStatus.SENT, 1)}


def kill_worker_mid_batch(*, batch: int, kill, tmp_path, redis: ThrowawayRedis, processes) -> tuple[set, set]:
    """Queue batch e-mails, start beat and a worker, let kill(worker, inbox) kill it (called as soon
    as the worker is launched), start another one and wait until every e-mail is sent. Returns the
    e-mails' uuids and those in the window: accepted by the SMTP server before the kill, yet still
    pending after it."""
    inbox = Inbox(delay=0.005)  # a few milliseconds per message: the batch takes a few seconds
    started = database_now()
    with smtp_server(inbox) as email_url, broker_for_this_process(redis.url):
        with transaction.atomic():
            emails = [
                queue_email(
                    to=f"destinataire{number}@mairie-exemple.fr",
                    template="test_message",
                    context={"reference": f"LOT-{number}"},
                )
                for number in range(batch)
            ]
        uuids = {str(email.uuid) for email in emails}
        env = celery_env(broker_url=redis.url, email_url=email_url, settings=WORKER_SETTINGS)
        beat = start_beat(env, schedule_file=tmp_path / "beat-schedule", wait=False)
        processes.append(beat)
        worker = start_worker(env, concurrency=CONCURRENCY, name="doomed", wait=False)
        processes.append(worker)
        kill(worker, inbox)
        assert not worker.alive()
        beat.wait_ready()

        # The killed processes' transactions are rolled back once their sessions are gone.
        wait_for(
            lambda: other_database_sessions(since=started) == 0,
            timeout=10,
            message="the killed sessions remain",
        )
        time.sleep(0.2)
        accepted = inbox.counts()
        pending = {
            str(uuid)
            for uuid in Email.objects.filter(status=EmailStatus.PENDING).values_list("uuid", flat=True)
        }
        assert uuids - pending <= set(accepted)  # what is marked sent was delivered
        assert set(accepted.values()) <= {1}
        window = set(accepted) & pending
        print(
            f"killed after {len(accepted)} accepted, {len(uuids - pending)} marked sent; {len(window)} in the window"
        )

        started = time.monotonic()
        processes.append(start_worker(env, concurrency=CONCURRENCY, name="restarted"))
        wait_for(
            lambda: not Email.objects.filter(status=EmailStatus.PENDING).exists(),
            timeout=180,
            interval=0.2,
            message="e-mails still pending after the restart",
        )
        restarted = processes[-1].output
        sent_again, skipped = restarted.count(": 'sent'"), restarted.count(": None")
        print(
            f"all {batch} sent {time.monotonic() - started:.1f} s after the restart; the restarted worker"
            f" sent {sent_again}, found {skipped} already sent"
        )
        wait_until_drained(redis)

    counts = inbox.counts()
    assert set(counts) == uuids
    # Every e-mail once, but those in the window: twice. The database cannot tell them apart.
    assert {uuid: count for uuid, count in counts.items() if count != 1} == dict.fromkeys(window, 2)
    rows = Email.objects.values_list("status", "attempts")
    assert set(rows) == {(EmailStatus.SENT, 1)}
    return uuids, window


@pytest.mark.usefixtures("fault_settings")
@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_batch_leaves_every_email_delivered_once_after_a_restart(
    tmp_path, redis, processes
):
    def kill(worker, inbox):
        # At some moment of the batch, as the OOM killer or a lost machine would: not right after
        # the server accepted a message, which would favour the window.
        worker.wait_ready()
        wait_for(lambda: len(inbox.accepted) >= KILL_AFTER, timeout=60, interval=0.002)
        time.sleep(random.uniform(0, 0.05))
        worker.kill()

    _, window = kill_worker_mid_batch(
        batch=BATCH, kill=kill, tmp_path=tmp_path, redis=redis, processes=processes
    )
    # Only a message in flight in one of the pool's processes can be in the window.
    assert len(window) <= CONCURRENCY


@pytest.mark.usefixtures("fault_settings")
@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_between_the_smtp_server_accepting_a_message_and_marking_it_sent_sends_it_twice(
    tmp_path, redis, processes
):
    """The limit of exactly once: SMTP and the database commit apart. A worker killed after the
    server accepted a message (250) and before the row is committed SENT leaves it pending: the
    relay sends it again. The Message-ID is the same both times (a receiving server may drop the
    second)."""
    killed = threading.Event()

    def kill(worker, inbox):
        quits = itertools.count(1)

        def kill_at_the_fifth_quit():
            # The client says QUIT once the server accepted its message, before it commits.
            if next(quits) == 5:
                worker.kill()
                killed.set()

        inbox.on_quit = kill_at_the_fifth_quit
        assert killed.wait(60), "the worker was not killed"

    _, window = kill_worker_mid_batch(
        batch=20, kill=kill, tmp_path=tmp_path, redis=redis, processes=processes
    )
    assert 1 <= len(window) <= CONCURRENCY
