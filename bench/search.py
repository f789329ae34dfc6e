"""Organisation search at scale: import a synthetic register, then time the wizard's search.

    make bench-search ROWS=2000000 [QUERIES=1000]

Uses its own database (portal_bench) on the embedded PostgreSQL, or on DATABASE_URL's server.
Prints the import rate, p50/p95/p99 per kind of query through organisations.search (the service
the wizard and the API use), and the ratio to a naive ILIKE '%…%' query on the same data.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
BENCH_DATABASE = "portal_bench"


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")
    os.environ.setdefault("DEBUG", "false")
    from portal.embedded import use_embedded_services

    use_embedded_services()
    import psycopg

    url = os.environ["DATABASE_URL"]
    base, _, _name = url.rpartition("/")
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as connection:
        if not connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DATABASE]
        ).fetchone():
            connection.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    os.environ["DATABASE_URL"] = f"{base}/{BENCH_DATABASE}"
    import django

    django.setup()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def timed(function, *args, **kwargs) -> float:
    start = time.perf_counter()
    function(*args, **kwargs)
    return (time.perf_counter() - start) * 1000


def build_queries(count: int, rng: random.Random) -> dict[str, list[dict]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT siret, upper(array_to_string(tsvector_to_array(search_vector), ' ')), postal_code "
            "FROM organisations_establishment WHERE is_diffusible AND search_vector <> '' "
            "ORDER BY random() LIMIT %s",
            [count * 2],
        )
        sample = cursor.fetchall()
    stop = {"DE", "DU", "DES", "LA", "LE", "LES", "D", "L", "ET", "A"}
    queries = {
        kind: [] for kind in ("name", "name_postal_code", "siren", "siret", "short_prefix", "common_words")
    }
    common = ["COMMUNE", "ASSOCIATION", "SCI", "SYNDICAT", "ASSOCIATION DE", "COMMUNE DE", "SAS", "CCAS"]
    for siret, text, postal_code in sample:
        words = [word for word in text.split() if word not in stop and len(word) > 2] or text.split()
        chosen = rng.sample(words, min(2, len(words)))
        if len(queries["name"]) < count:
            queries["name"].append({"query": " ".join(chosen)})
        if len(queries["name_postal_code"]) < count:
            queries["name_postal_code"].append({"query": chosen[0], "postal_code": postal_code})
        if len(queries["siren"]) < count:
            queries["siren"].append({"query": siret[:9]})
        if len(queries["siret"]) < count:
            queries["siret"].append({"query": siret})
        if len(queries["short_prefix"]) < count:
            word = rng.choice(words)
            queries["short_prefix"].append({"query": word[: rng.choice((3, 4))].lower()})
        if len(queries["common_words"]) < count:
            queries["common_words"].append({"query": rng.choice(common).lower()})
    return queries


def run_search(parameters: dict) -> None:
    from organisations.search import search_establishments

    results = search_establishments(**parameters)
    list(results.page or [])


def run_naive(parameters: dict) -> None:
    """What a first version would write: ILIKE '%word%' on the names, count and first page."""
    from django.db import connection

    words = parameters["query"].split()
    conditions = " AND ".join(
        "(u.denomination ILIKE %s OR u.sigle ILIKE %s OR e.name ILIKE %s OR e.city ILIKE %s)" for _ in words
    )
    arguments = [f"%{word}%" for word in words for _ in range(4)]
    if parameters.get("postal_code"):
        conditions += " AND (e.postal_code = %s OR e.cedex_code = %s)"
        arguments += [parameters["postal_code"]] * 2
    base = (
        "FROM organisations_establishment e JOIN organisations_legalunit u ON u.siren = e.siren "
        f"WHERE e.is_diffusible AND {conditions}"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) {base}", arguments)
        cursor.execute(
            f"SELECT e.siret {base} ORDER BY e.is_active DESC, e.is_siege DESC, e.name LIMIT 10", arguments
        )
        cursor.fetchall()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=int(os.environ.get("ROWS") or 2_000_000))
    parser.add_argument("--queries", type=int, default=int(os.environ.get("QUERIES") or 1000))
    parser.add_argument("--naive-queries", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2026)
    arguments = parser.parse_args()
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    from bench.sirene_synth import generate

    print(f"== Recherche d'organisations : {arguments.rows:,} établissements ==".replace(",", " "))
    out = BASE_DIR / "var" / "bench" / f"rows-{arguments.rows}-seed-{arguments.seed}"
    units, establishments = out / "StockUniteLegale_utf8.csv", out / "StockEtablissement_utf8.csv"
    if not establishments.exists():
        start = time.perf_counter()
        generate(arguments.rows, out, arguments.seed)
        print(f"registre synthétique écrit en {time.perf_counter() - start:.0f} s ({out})")
    call_command("migrate", verbosity=0)

    def timed_import(**files) -> float:
        start = time.perf_counter()
        call_command("import_sirene", verbosity=0, **files)
        return time.perf_counter() - start

    both = timed_import(unites_legales=str(units), etablissements=str(establishments))
    alone = timed_import(etablissements=str(establishments))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM organisations_establishment")
        imported = cursor.fetchone()[0]
    for label, seconds in (("fichier des établissements", alone), ("deux fichiers", both)):
        count, rate = f"{imported:,}".replace(",", " "), f"{imported / seconds:,.0f}".replace(",", " ")
        print(
            f"import ({label}) : {count} établissements en {seconds:.1f} s, {rate} établissements/s ; "
            f"40 millions : {40e6 / imported * seconds / 60:.0f} min à ce rythme"
        )

    rng = random.Random(arguments.seed)
    queries = build_queries(arguments.queries, rng)
    print(
        f"\n{'type de requête':<18} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'naïf p50':>10} {'rapport':>8}"
    )
    for kind, parameter_list in queries.items():
        for parameters in parameter_list[:50]:  # warm the caches
            run_search(parameters)
        durations = [timed(run_search, parameters) for parameters in parameter_list]
        naive = ""
        ratio = ""
        if kind not in ("siren", "siret"):
            sample = parameter_list[: arguments.naive_queries]
            naive_durations = [timed(run_naive, parameters) for parameters in sample]
            ours = [timed(run_search, parameters) for parameters in sample]
            naive_p50 = statistics.median(naive_durations)
            naive = f"{naive_p50:.1f}"
            ratio = f"{naive_p50 / statistics.median(ours):.0f}×"
        print(
            f"{kind:<18} {len(durations):>5} {percentile(durations, 0.50):>8.2f} {percentile(durations, 0.95):>8.2f} "
            f"{percentile(durations, 0.99):>8.2f} {naive:>10} {ratio:>8}"
        )


if __name__ == "__main__":
    main()
