"""The portal under load: gunicorn (2 workers) and a Celery worker on the real stack, driven by
wrk (bench/wrk.lua) from a second process.

    make bench-load [SECONDS_PER_ENDPOINT=20] [CLIENTS=16] [ONLY=wizard-1,search]

Uses its own database (portal_load) on the embedded PostgreSQL (or DATABASE_URL's server) and the
embedded Redis (or REDIS_URL). Python prepares each endpoint's requests (sessions walked through
the wizard to each step, logged-in sessions, login forms with their CSRF tokens, code pages), then
wrk sends them for a fixed time with CLIENTS connections. Prints, per endpoint: requests per
second, p50/p95/p99 in ms, errors (unexpected status or socket error) and the web workers' CPU per
request; then the web workers' CPU cost of one complete signup and of one login, divided by the CPU
cost of one Argon2 password hash with the same parameters on this machine, and the login
throughput against its hash-bound ceiling (cores / hash cost).
"""

import argparse
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
LOAD_DATABASE = "portal_load"
PASSWORD = "Charge-du-portail-2026"  # noqa: S105 (the bench users of its own database)
USERS = 128
ENDPOINTS = ["wizard-1", "wizard-2", "wizard-3", "wizard-4", "search", "login", "code_page", "dashboard"]
TARGET_P95_MS = 50
LOG_DIR = BASE_DIR / "var" / "bench"  # the servers' logs of the last run
LOGIN_CEILING_SHARE = 0.70


# The stack -------------------------------------------------------------------------------------


def prepare_environment(mail_dir: Path) -> dict:
    """The environment of the servers: dev settings without DEBUG, the load database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")
    os.environ["DEBUG"] = "false"
    from portal.embedded import use_embedded_services

    use_embedded_services()
    import psycopg

    url = os.environ["DATABASE_URL"]
    base, _, _name = url.rpartition("/")
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [LOAD_DATABASE]).fetchone():
            connection.execute(f'CREATE DATABASE "{LOAD_DATABASE}"')
    os.environ["DATABASE_URL"] = f"{base}/{LOAD_DATABASE}"
    env = {
        **os.environ,
        "DEBUG": "false",
        "CAPTCHA_TEST_MODE": "true",  # the load generator cannot read images
        "EMAIL_URL": f"file://{mail_dir}",
        "PORTAL_TRUSTED_PROXIES": "1",  # each simulated client comes from its own address
        "SIRENE_LIVE_FETCH": "false",
        "LOG_LEVEL": "WARNING",
    }
    return env


def seed(env: dict) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=BASE_DIR, env=env, check=True
    )
    code = f"""
import django; django.setup()
from django.db import transaction
from accounts.models import User
from habilitations.models import Habilitation, Service
from organisations.demo import load_demo_organisations
from organisations.models import Category, Establishment, Membership
if not Establishment.objects.exists():
    load_demo_organisations()
establishment = Establishment.objects.filter(is_siege=True, is_active=True).order_by("siret").first()
category = Category.objects.first()
services = list(Service.objects.all()[:2])
with transaction.atomic():
    for number in range({USERS}):
        user, created = User.objects.get_or_create(identifiant=f"charge{{number}}", defaults={{"email": f"charge{{number}}@charge.localhost", "first_name": "Charge", "last_name": str(number)}})
        if created:
            user.set_password("{PASSWORD}")
            user.save()
        membership, _ = Membership.objects.get_or_create(user=user, legal_unit=establishment.legal_unit, defaults=dict(
            establishment=establishment, status="approved", rule="R2", category=category, function=category.functions.first(),
            title="Chargé de mission", departement=establishment.departement or "75", address="1 rue", postal_code="75001",
            city="PARIS", email=user.email, phone_landline="+33142764040", cgu_version="2026-01"))
        for service in services:
            Habilitation.objects.get_or_create(membership=membership, service=service, defaults={{"status": "validated"}})
"""
    subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env, check=True)


def start_stack(env: dict, port: int) -> list[subprocess.Popen]:
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--workers", "2", "--bind",
         f"127.0.0.1:{port}", "--access-logfile", "-", "--log-level", "warning"],
        cwd=BASE_DIR, env={**env, "DJANGO_SETTINGS_MODULE": "portal.settings.dev"},
        stdout=subprocess.DEVNULL, stderr=(LOG_DIR / "gunicorn.log").open("w"), start_new_session=True,
    )  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--concurrency", "1", "--loglevel", "WARNING"],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=(LOG_DIR / "celery.log").open("w"),
        start_new_session=True,
    )  # fmt: skip
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return [web, worker]
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer in 60 s")


def stop_stack(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def worker_pids(master_pid: int) -> list[int]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return [int(pid) for pid in children]


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


# The load (wrk, a second process) -------------------------------------------------------------


CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
STEP = "signup_wizard-current_step"
WIZARD_STEPS = ["fonction", "organisme", "coordonnees", "confirmation"]
SESSIONS = 32  # prepared sessions per endpoint: more than connections, fewer than rows to read


class Client:
    """One simulated person, for the preparations: a requests session from their own address."""

    def __init__(self, base: str, number: int):
        import requests

        self.base = base
        self.session = requests.Session()
        self.session.headers["X-Forwarded-For"] = (
            f"10.{number // 250 % 250}.{number % 250}.{random.randint(1, 250)}"
        )

    def get(self, path, **kwargs):
        return self.session.get(self.base + path, timeout=30, allow_redirects=False, **kwargs)

    def post(self, path, data, **kwargs):
        return self.session.post(
            self.base + path, data=data, timeout=30, allow_redirects=False,
            headers={"Referer": self.base + path}, **kwargs,
        )  # fmt: skip

    def token(self, path) -> str:
        return CSRF.search(self.get(path).text).group(1)

    def log_in(self, identifiant: str):
        token = self.token("/connexion/")
        return self.post(
            "/connexion/", {"csrfmiddlewaretoken": token, "username": identifiant, "password": PASSWORD}
        )

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.session.cookies.items())


def walk_wizard(client: Client, number: int, *, to: str):
    """The wizard's steps before ``to``, answered as a person does (``to="termine"``: all four)."""
    client.get("/inscription/?recommencer")

    def post(name, fields):
        token = client.token(f"/inscription/{name}/")
        data = {"csrfmiddlewaretoken": token, STEP: name, **{f"{name}-{k}": v for k, v in fields.items()}}
        return client.post(f"/inscription/{name}/", data)

    for name in WIZARD_STEPS[: WIZARD_STEPS.index(to) if to in WIZARD_STEPS else 4]:
        if name == "fonction":
            page = client.get("/inscription/fonction/").text
            category = re.search(
                r'<option value="(\d+)"[^>]*>[^<]*</option>', page.split('name="fonction-category"')[1]
            ).group(1)
            function = re.search(r'<optgroup label="[^"]*">\s*<option value="(\d+)"', page).group(1)
            post(name, {"category": category, "function": function, "title": "Chargé de mission", "civilite": "mme",
                        "first_name": "Camille", "last_name": f"Charge{number}"})  # fmt: skip
        elif name == "organisme":
            results = client.post(
                "/inscription/organisme/",
                {"csrfmiddlewaretoken": client.token("/inscription/organisme/"), STEP: "organisme",
                 "organisme-query": "commune lyon", "organisme-postal_code": "", "action": "search"},
            ).text  # fmt: skip
            siret = re.search(r'name="organisme-siret" value="(\d{14})"', results).group(1)
            post(name, {"query": "commune lyon", "postal_code": "", "siret": siret})
        elif name == "coordonnees":
            client.email = f"signup{number}.{secrets.token_hex(3)}@charge-mairie.fr"
            post(name, {"departement": "69", "address": "1 place de la Comédie", "address_complement": "",
                        "postal_code": "69001", "city": "LYON", "email": client.email,
                        "phone_landline": "04 72 10 30 30", "phone_mobile": "",
                        "identifiant": f"signup{number}{secrets.token_hex(2)}"})  # fmt: skip
        else:
            return post(
                name, {"captcha_0": "x", "captcha_1": "PASSED", "accept_cgu": "on", "accept_admin_role": "on"}
            )
    return None


def prepare(base: str, endpoint: str) -> tuple[int, list[dict]]:
    """The requests of an endpoint, each with what it needs (session, form, token), and the status
    each must answer."""
    cookie = lambda client: {"Cookie": client.cookie_header()}  # noqa: E731
    if endpoint.startswith("wizard"):
        step = WIZARD_STEPS[int(endpoint[-1]) - 1]
        requests = []
        for number in range(SESSIONS):
            client = Client(base, number)
            walk_wizard(client, number, to=step)
            requests.append({"method": "GET", "path": f"/inscription/{step}/", "headers": cookie(client)})
        return 200, requests
    if endpoint == "search":
        words = ["paris", "lyon", "nancy", "lille", "metz", "brest", "nice", "rennes", "dijon", "pau", "agen"]
        paths = [f"/api/organisations?{urlencode({'q': f'commune {word}'})}" for word in words]
        paths += [f"/api/organisations?{urlencode({'q': f'mairie {word[:3]}'})}" for word in words]
        return 200, [{"method": "GET", "path": path, "headers": {}} for path in paths]
    if endpoint == "login":
        requests = []
        for number in range(USERS):
            client = Client(base, number)
            body = urlencode({"csrfmiddlewaretoken": client.token("/connexion/"), "username": f"charge{number}",
                              "password": PASSWORD})  # fmt: skip
            headers = {**cookie(client), "Content-Type": "application/x-www-form-urlencoded"}
            requests.append({"method": "POST", "path": "/connexion/", "headers": headers, "body": body})
        return 302, requests
    if endpoint == "code_page":
        requests = []
        for number in range(SESSIONS):
            client = Client(base, number)
            login = f"personne{number}.{secrets.token_hex(4)}"  # 5 codes an hour per typed login
            client.post(
                "/connexion/code/", {"csrfmiddlewaretoken": client.token("/connexion/code/"), "login": login}
            )
            requests.append({"method": "GET", "path": "/connexion/code/saisie/", "headers": cookie(client)})
        return 200, requests
    if endpoint == "dashboard":
        requests = []
        for number in range(SESSIONS):
            client = Client(base, number)
            if client.log_in(f"charge{number}").status_code != 302:
                raise RuntimeError(f"charge{number} could not log in")
            requests.append({"method": "GET", "path": "/espace/", "headers": cookie(client)})
        return 200, requests
    raise ValueError(endpoint)


def lua_string(value: str) -> str:
    """A Lua string literal: safe ASCII as is, every other byte as a three-digit escape."""
    safe = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_./=;:?&%@+")
    return '"' + "".join(chr(byte) if byte in safe else f"\\{byte:03d}" for byte in value.encode()) + '"'


def write_lua(path: Path, expected: int, requests: list[dict]) -> None:
    """The requests as a Lua table, for bench/wrk.lua."""
    items = []
    for item in requests:
        headers = ", ".join(
            f"[{lua_string(name)}] = {lua_string(value)}" for name, value in item["headers"].items()
        )
        body = lua_string(item["body"]) if item.get("body") else "nil"
        items.append(
            f'{{method = "{item["method"]}", path = {lua_string(item["path"])}, headers = {{{headers}}}, body = {body}}}'
        )
    path.write_text(f"return {{expected = {expected}, requests = {{\n" + ",\n".join(items) + "\n}}\n")


def wait_until_idle(workers: list[int]) -> None:
    """Until the web workers stop spending CPU: the requests wrk left in their queues (16 logins
    are 3 s of hashing) must not count in the next endpoint's figures."""
    previous = cpu_seconds(workers)
    while True:
        time.sleep(0.5)
        current = cpu_seconds(workers)
        if current - previous < 0.02:
            return
        previous = current


def run_wrk(base: str, spec: Path, *, seconds: float, clients: int) -> dict:
    threads = min(2, clients)
    output = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds:g}s", "--timeout", "10s", "-s",
         str(BASE_DIR / "bench" / "wrk.lua"), base, "--", str(spec), str(threads)],
        capture_output=True, text=True,
    )  # fmt: skip
    if output.returncode:
        raise RuntimeError(f"wrk: {output.stderr or output.stdout}")
    output = output.stdout
    return json.loads([line for line in output.splitlines() if line.startswith("{")][-1])


def complete_signup(base: str, mail_dir: Path, number: int) -> None:
    """One whole signup, as a person does it: four steps, the e-mailed code, the result."""
    client = Client(base, 5000 + number)
    response = walk_wizard(client, number, to="termine")
    while response.status_code == 302 and "/code/" not in response.headers["Location"]:
        response = client.get(response.headers["Location"].replace(base, ""))
    if response.status_code != 302:
        errors = re.findall(r'class="fr-error-text"[^>]*>\s*([^<]+)', response.text)
        raise RuntimeError(f"signup {number}: the confirmation answered {response.status_code}: {errors}")
    code_url = response.headers["Location"].replace(base, "")
    code = None
    for _ in range(200):
        for message in sorted(mail_dir.glob("*.log")) + sorted(mail_dir.glob("*.eml")):
            text = message.read_text(errors="replace")
            if client.email in text:
                found = re.search(r"^\s+(\d{4,8})\s*$", text, re.MULTILINE)
                if found:
                    code = found.group(1)
        if code:
            break
        time.sleep(0.05)
    token = CSRF.search(client.get(code_url).text).group(1)
    result = client.post(code_url, {"csrfmiddlewaretoken": token, "code": code})
    if result.status_code != 302:
        raise RuntimeError(f"signup {number} not completed: {result.status_code}")


# Report ----------------------------------------------------------------------------------------


def hash_cpu_seconds(rounds: int = 20) -> float:
    """The CPU cost of one Argon2 hash with the portal's parameters, in this process."""
    import django

    django.setup()
    from django.contrib.auth.hashers import get_hasher

    hasher = get_hasher("default")
    salt = hasher.salt()
    start = time.process_time()
    for _ in range(rounds):
        hasher.encode(PASSWORD, salt)
    return (time.process_time() - start) / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SECONDS_PER_ENDPOINT") or 20))
    parser.add_argument("--clients", type=int, default=int(os.environ.get("CLIENTS") or 16))
    parser.add_argument("--only", help="comma-separated endpoints (default: all)")
    arguments = parser.parse_args()
    endpoints = arguments.only.split(",") if arguments.only else ENDPOINTS
    if shutil.which("wrk") is None:
        sys.exit("wrk est requis : make bench-load l'installe (apt-get install wrk).")

    mail_dir = Path(tempfile.mkdtemp(prefix="portal-load-mail-"))
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    env = prepare_environment(mail_dir)
    print(f"Préparation de la base {LOAD_DATABASE}…", flush=True)
    seed(env)
    port = 18000 + random.randint(0, 999)
    base = f"http://127.0.0.1:{port}"
    processes = start_stack(env, port)
    try:
        workers = worker_pids(processes[0].pid)
        specs = {}
        for endpoint in endpoints:
            expected, requests = prepare(base, endpoint)
            specs[endpoint] = LOG_DIR / f"wrk-{endpoint}.lua"
            write_lua(specs[endpoint], expected, requests)
            # Warm-up: imports, connections, caches of both workers.
            run_wrk(base, specs[endpoint], seconds=2, clients=arguments.clients)
            wait_until_idle(workers)
        print(
            f"\nwrk, {arguments.clients} connexions, {arguments.seconds:.0f} s par point d'entrée ; gunicorn 2 workers, "
            f"1 worker Celery ; {os.cpu_count()} cœurs\n"
        )
        print(
            f"{'point d entrée':<14}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'erreurs':>9}{'CPU web ms/req':>16}"
        )
        results = {}
        for endpoint in endpoints:
            before = cpu_seconds(workers)
            result = run_wrk(base, specs[endpoint], seconds=arguments.seconds, clients=arguments.clients)
            wait_until_idle(workers)
            cpu = (cpu_seconds(workers) - before) / max(result["requests"], 1)
            rate = result["requests"] / result["seconds"]
            errors = result["unexpected"] + result["socket_errors"]
            results[endpoint] = (rate, result["p95"], errors)
            print(
                f"{endpoint:<14}{rate:>8.1f}{result['p50']:>9.1f}{result['p95']:>9.1f}{result['p99']:>9.1f}"
                f"{errors:>9}{cpu * 1000:>16.1f}",
                flush=True,
            )

        hash_cost = hash_cpu_seconds()
        # The CPU the web workers spend on one login, and on one whole signup, one at a time.
        client = Client(base, 9999)
        logins = 30
        before = cpu_seconds(workers)
        for number in range(logins):
            client.session.cookies.clear()
            if client.log_in(f"charge{number % USERS}").status_code != 302:
                raise RuntimeError("a login failed")
        login_cost = (cpu_seconds(workers) - before) / logins
        signups = 10
        before = cpu_seconds(workers)
        for number in range(signups):
            complete_signup(base, mail_dir, number + int(time.time()) % 100000 * 100)
        signup_cost = (cpu_seconds(workers) - before) / signups
        cores = os.cpu_count() or 1
        ceiling = cores / hash_cost
        print(
            f"\nHachage Argon2 (paramètres du portail) : {hash_cost * 1000:.1f} ms de CPU"
            f"\nConnexion : {login_cost * 1000:.1f} ms de CPU côté web = {login_cost / hash_cost:.2f} hachage(s)"
            f"\nInscription complète (4 étapes, code, résultat) : {signup_cost * 1000:.1f} ms de CPU côté web"
            f" = {signup_cost / hash_cost:.2f} hachage(s)"
        )
        if "login" in results:
            login_rate = results["login"][0]
            print(
                f"Débit de connexion : {login_rate:.1f}/s pour un plafond de {ceiling:.1f}/s ({cores} cœurs / coût d'un"
                f" hachage) : {login_rate / ceiling:.0%} (objectif ≥ {LOGIN_CEILING_SHARE:.0%})"
            )
        slow = [e for e, (_, p95, _) in results.items() if e != "login" and p95 > TARGET_P95_MS]
        errors = sum(error for _, _, error in results.values())
        print(
            f"Objectifs : p95 ≤ {TARGET_P95_MS} ms hors connexion : {'tenu' if not slow else 'manqué (' + ', '.join(slow) + ')'}"
            f" ; erreurs : {errors}"
        )
    finally:
        stop_stack(processes)


if __name__ == "__main__":
    main()
