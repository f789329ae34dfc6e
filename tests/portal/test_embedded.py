"""The embedded default: real PostgreSQL and Redis under a var/ directory of the test's own."""

import subprocess
import sys

import psycopg
import pytest
import redis

from portal.embedded import EmbeddedServices
from tests.conftest import BASE_DIR, clean_env


@pytest.fixture
def services(tmp_path):
    var_dir = tmp_path / "var"
    services = EmbeddedServices(var_dir)
    yield services
    services.stop()


def _database_answers(url):
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), connect_timeout=3) as connection:
        return connection.execute("SELECT current_database()").fetchone()[0]


def test_attach_starts_both_servers_under_var_and_keeps_their_data(services):
    urls = services.attach()
    assert _database_answers(urls["DATABASE_URL"]) == "portal"
    client = redis.Redis.from_url(urls["REDIS_URL"])
    client.set("kept", "yes")
    with psycopg.connect(
        urls["DATABASE_URL"].replace("postgres://", "postgresql://", 1), autocommit=True
    ) as connection:
        connection.execute("CREATE TABLE kept (value text)")
        connection.execute("INSERT INTO kept VALUES ('yes')")
    client.close()
    assert (services.var_dir / "postgres" / "PG_VERSION").exists()

    assert services.detach() is True  # last lease out: both servers stop
    assert not services.postgres_running()
    assert not services.redis_running()

    urls = services.attach()  # a second start keeps the data
    with psycopg.connect(urls["DATABASE_URL"].replace("postgres://", "postgresql://", 1)) as connection:
        assert connection.execute("SELECT value FROM kept").fetchone() == ("yes",)
    assert redis.Redis.from_url(urls["REDIS_URL"]).get("kept") == b"yes"


def test_a_second_process_attaches_to_running_servers_and_does_not_stop_them(services):
    services.attach()
    postgres_pid = (services.pgdata / "postmaster.pid").read_text().split()[0]
    code = (
        "import os; from portal.embedded import use_embedded_services; use_embedded_services(); "
        "print(os.environ['DATABASE_URL']); print(os.environ['REDIS_URL'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=clean_env(PORTAL_VAR_DIR=str(services.var_dir)),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.split() == [services.database_url, services.redis_url]
    # The child left; this process still holds its lease, so nothing stopped or restarted.
    assert services.postgres_running()
    assert services.redis_running()
    assert (services.pgdata / "postmaster.pid").read_text().split()[0] == postgres_pid


def test_a_process_that_starts_the_servers_stops_them_when_it_leaves(tmp_path):
    var_dir = tmp_path / "var"
    code = "from portal.embedded import use_embedded_services; use_embedded_services()"
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=clean_env(PORTAL_VAR_DIR=str(var_dir)),
        timeout=60,
        check=True,
    )
    services = EmbeddedServices(var_dir)
    assert (var_dir / "postgres" / "PG_VERSION").exists()
    assert not services.postgres_running()
    assert not services.redis_running()


def test_leases_of_dead_processes_are_pruned(services):
    services.attach()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (services.lease_dir / str(dead.pid)).touch()
    assert services.detach() is True
    assert not any(services.lease_dir.iterdir())


def test_with_urls_set_nothing_embedded_is_started(tmp_path):
    var_dir = tmp_path / "var"
    code = "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['HOST'])"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=clean_env(
            DJANGO_SETTINGS_MODULE="portal.settings.dev",
            PORTAL_VAR_DIR=str(var_dir),
            DATABASE_URL="postgres://postgres@127.0.0.1:5432/portal",
            REDIS_URL="redis://127.0.0.1:6379/0",
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "127.0.0.1"
    assert not (var_dir / "postgres").exists()
    assert not (var_dir / "redis").exists()
