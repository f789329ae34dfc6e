"""make run: the whole portal from one command, stopped by Ctrl-C, data kept for the next run."""

import signal
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from portal.embedded import EmbeddedServices, _process_alive
from tests.conftest import BASE_DIR, clean_env, free_port

pytestmark = pytest.mark.slow


def _start(var_dir, port, **env):
    return subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=BASE_DIR,
        env=clean_env(PORTAL_VAR_DIR=str(var_dir), EMAIL_URL=f"file://{var_dir}/mail", **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_ready(process, deadline=120):
    lines = []
    end = time.monotonic() + deadline
    for line in process.stdout:
        lines.append(line)
        if "Le portail est prêt" in line:
            return lines
        if time.monotonic() > end:
            break
    pytest.fail("make run never said it was ready:\n" + "".join(lines))


def _stop(process):
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    output, _ = process.communicate(timeout=60)
    return output


def _processes_using(var_dir):
    result = subprocess.run(["ps", "-eww", "-o", "pid=,args="], capture_output=True, text=True, check=True)
    return [line for line in result.stdout.splitlines() if str(var_dir) in line]


def test_make_run_serves_the_portal_with_worker_and_beat_and_stops_everything(tmp_path):
    var_dir = tmp_path / "var"
    port = free_port()
    process = _start(var_dir, port)
    try:
        lines = _wait_ready(process)
        banner = "".join(lines)
        assert f"http://127.0.0.1:{port}/" in banner
        assert "agent.demo" in banner
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            page = response.read().decode()
        assert "Créer un compte" in page
        assert "Se connecter" in page
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as response:
            assert b'"ready"' in response.read()
        children = psutil.Process(process.pid).children(recursive=True)
        commands = [" ".join(child.cmdline()) for child in children]
        for expected in ("runserver", "celery -A portal worker", "celery -A portal beat"):
            assert any(expected in command for command in commands), commands
        assert any("postgres" in line for line in _processes_using(var_dir))
        redis_pid = EmbeddedServices(var_dir)._redis_pid()
        assert redis_pid is not None
    finally:
        output = _stop(process)
    assert process.returncode == 0, output
    assert not any(child.is_running() for child in children)
    assert not _process_alive(redis_pid)  # a zombie awaiting its reaper counts as gone
    assert "Services embarqués (PostgreSQL, Redis) arrêtés." in output
    assert _processes_using(var_dir) == []
    services = EmbeddedServices(var_dir)
    assert not services.postgres_running()
    assert not services.redis_running()

    # A second run keeps the data: the demo agent is already there.
    process = _start(var_dir, port)
    try:
        banner = "".join(_wait_ready(process))
        assert "agent.demo : déjà présent" in banner
    finally:
        _stop(process)
    assert _processes_using(var_dir) == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_with_database_and_redis_urls_make_run_starts_nothing_embedded(tmp_path):
    from django.conf import settings

    from tests.integration.test_mail_delivery import _test_database_url

    var_dir = tmp_path / "var"
    port = free_port()
    process = _start(var_dir, port, DATABASE_URL=_test_database_url(), REDIS_URL=settings.REDIS_URL)
    try:
        _wait_ready(process)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as response:
            assert b'"ready"' in response.read()
        assert not (var_dir / "postgres").exists()
        assert not (var_dir / "redis").exists()
    finally:
        output = _stop(process)
    assert process.returncode == 0, output
    assert "Services embarqués" not in output
