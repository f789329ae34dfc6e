"""docker-compose.yml and the Dockerfile, as far as this machine can check them without Docker:
every service command of the portal's image exists and starts here with the production settings."""

import json
import re
import secrets
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from tests.conftest import BASE_DIR, clean_env, free_port
from tests.integration.test_mail_delivery import _test_database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

COMPOSE = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
VENV_BIN = Path(sys.executable).parent


def _production_env(**overrides):
    values = {
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "EMAIL_URL": "console://",
        "SECURE_SSL_REDIRECT": "false",
        "STATIC_ROOT": None,
    }
    return clean_env(**{**values, **overrides})


def _command(service):
    command = COMPOSE["services"][service]["command"]
    return [str(VENV_BIN / command[0]) if command[0] != "python" else sys.executable, *command[1:]]


def _wait_for_output(process, needle, timeout=60):
    deadline = time.monotonic() + timeout
    seen = []
    for line in process.stdout:
        seen.append(line)
        if needle in line:
            return
        if time.monotonic() > deadline:
            break
    pytest.fail(f"{needle!r} never appeared:\n" + "".join(seen))


def test_compose_has_the_whole_stack_and_documents_every_setting_it_passes():
    services = COMPOSE["services"]
    assert {"postgres", "redis", "web", "worker", "beat", "mailpit", "proxy", "migrate"} <= set(services)
    # web and worker can be scaled: neither publishes a fixed host port nor names its container.
    for name in ("web", "worker"):
        assert "ports" not in services[name]
        assert "container_name" not in services[name]
    settings_source = "".join(path.read_text() for path in (BASE_DIR / "portal" / "settings").glob("*.py"))
    for variable in COMPOSE["x-portal-env"]:
        if variable != "DJANGO_SETTINGS_MODULE":
            assert f'"{variable}"' in settings_source, f"{variable} is passed but never read"
    # Every variable sits under a comment (several variables may share one).
    lines = [line.strip() for line in (BASE_DIR / "docker-compose.yml").read_text().splitlines()]
    for variable in COMPOSE["x-portal-env"]:
        index = lines.index(next(line for line in lines if line.startswith(f"{variable}:")))
        while index > 0 and re.match(r"^[A-Z_]+:", lines[index - 1]):
            index -= 1
        assert lines[index - 1].startswith("#"), f"{variable} is undocumented"


def test_the_migrate_service_command_runs_with_production_settings():
    result = subprocess.run(
        [*_command("migrate"), "--check"],
        cwd=BASE_DIR,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_images_web_command_serves_the_portal_under_gunicorn(tmp_path):
    cmd = re.search(r"^CMD \[(.*)\]$", (BASE_DIR / "Dockerfile").read_text(), re.MULTILINE).group(1)
    shell_line = json.loads(f"[{cmd}]")[-1]
    port = free_port()
    argv = shlex.split(shell_line.replace("exec ", "").replace("${WEB_CONCURRENCY:-2}", "2"))
    argv = [str(VENV_BIN / argv[0]), *argv[1:]]
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    argv[argv.index("--worker-tmp-dir") + 1] = str(tmp_path)
    # As the Dockerfile does at build time: the manifest storage needs its collected files.
    env = _production_env(STATIC_ROOT=str(tmp_path / "static"))
    collect = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]
    subprocess.run(collect, cwd=BASE_DIR, env=env, check=True, timeout=120)
    process = subprocess.Popen(
        argv, cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _wait_for_output(process, "Booting worker")
        deadline = time.monotonic() + 30
        while True:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/readyz", headers={"Host": "localhost"}
                )
                with urllib.request.urlopen(request, timeout=5) as response:
                    assert json.loads(response.read())["status"] == "ready"
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        home = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": "localhost"})
        with urllib.request.urlopen(home, timeout=5) as response:
            assert "Créer un compte" in response.read().decode()
    finally:
        process.terminate()
        process.communicate(timeout=30)


@pytest.mark.parametrize(("service", "ready"), [("worker", "ready."), ("beat", "beat: Starting")])
def test_the_worker_and_beat_commands_start(service, ready, tmp_path):
    argv = _command(service)
    if service == "beat":
        argv = [
            arg if not arg.startswith("--schedule=") else f"--schedule={tmp_path / 'schedule'}"
            for arg in argv
        ]
    else:
        argv += ["-Q", f"deploy-test-{secrets.token_hex(4)}"]  # consume nothing of anyone else's
    process = subprocess.Popen(
        argv, cwd=BASE_DIR, env=_production_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _wait_for_output(process, ready)
    finally:
        process.terminate()
        process.communicate(timeout=60)


def test_gunicorn_reads_its_settings_file_and_freezes_the_loaded_portal():
    """gunicorn.conf.py (read from gunicorn's working directory, as in the image): once a worker
    has loaded the portal, its objects leave the garbage collector's passes."""
    import gc
    import runpy

    settings_file = runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))
    gc.unfreeze()
    try:
        settings_file["post_worker_init"](worker=None)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
