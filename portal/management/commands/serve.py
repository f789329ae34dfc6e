"""make run: migrate, load the demo data, then run the web server, a Celery worker and Celery beat.

Ctrl-C (or SIGTERM) stops every process started here; the embedded servers stop with the last
process attached to them (portal/embedded.py).
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from portal import embedded
from portal.management.commands.load_demo import (
    DEMO_ADMIN_IDENTIFIANT,
    DEMO_ADMIN_PASSWORD,
    DEMO_STAFF_IDENTIFIANT,
    DEMO_STAFF_PASSWORD,
)

STOP_TIMEOUT = 15  # seconds given to each process to stop before it is killed


class Command(BaseCommand):
    help = "Sert le portail complet : serveur web, worker et beat Celery (make run)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, port, host, **options):
        if not 0 < port < 65536:
            raise CommandError(f"Port invalide : {port}")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Base de données à jour.")
        call_command("load_demo")

        schedule_dir = settings.VAR_DIR / "run"
        schedule_dir.mkdir(parents=True, exist_ok=True)
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        commands = {
            "web": [python, manage, "runserver", f"{host}:{port}"],
            "worker": [python, "-m", "celery", "-A", "portal", "worker", "--loglevel=INFO", "--concurrency=2"],
            "beat": [
                python, "-m", "celery", "-A", "portal", "beat", "--loglevel=INFO",
                f"--schedule={schedule_dir / 'celerybeat-schedule'}",
            ],
        }  # fmt: skip
        stopping = False

        def request_stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)

        # Each process leads its own group, so that stopping it stops its children too (the
        # autoreloader's server, the worker's pool), and Ctrl-C reaches them only through us.
        processes = {
            name: subprocess.Popen(command, cwd=settings.BASE_DIR, start_new_session=True)  # noqa: S603
            for name, command in commands.items()
        }
        url = f"http://{host}:{port}/"
        announced = False
        exit_code = 0
        try:
            while not stopping:
                for name, process in processes.items():
                    if process.poll() is not None:
                        self.stderr.write(
                            f"Le processus {name} s'est arrêté (code {process.returncode}) : arrêt du portail."
                        )
                        exit_code = 1
                        stopping = True
                if not announced and not stopping and _answers(url + "healthz"):
                    announced = True
                    self._announce(url)
                time.sleep(0.2)
        finally:
            self.stdout.write("Arrêt du portail…")
            _stop_all(processes.values())
            services = embedded.current()
            if services is not None and services.detach():
                self.stdout.write("Services embarqués (PostgreSQL, Redis) arrêtés.")
        if exit_code:
            sys.exit(exit_code)

    def _announce(self, url):
        lines = [
            "",
            f"  Le portail est prêt : {url}",
            f"  Administration : {url}admin/ — agent de démonstration : {DEMO_STAFF_IDENTIFIANT} / {DEMO_STAFF_PASSWORD}",
            f"  Administrateur de structure : {url}connexion/ — {DEMO_ADMIN_IDENTIFIANT} / {DEMO_ADMIN_PASSWORD}",
        ]
        if settings.DEBUG and getattr(settings, "EMAIL_FILE_PATH", None):
            lines.append(f"  Courriels envoyés : {url}dev/mailbox/")
        lines += ["  Ctrl-C arrête tout.", ""]
        self.stdout.write("\n".join(lines))


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (our own loopback URL)
            return response.status == 200
    except OSError:
        return False


def _stop_all(processes) -> None:
    for process in processes:
        if process.poll() is None:
            _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()
    for process in processes:  # leftovers in a group whose leader has exited
        _signal_group(process, signal.SIGKILL)


def _signal_group(process, signum) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)
