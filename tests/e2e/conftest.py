import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import sync_playwright

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture
def browser_page(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between two browser actions are still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        yield page
        context.close()
        browser.close()
    assert errors == [], "JavaScript errors on the pages walked"


def screenshot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


AXE = Axe()
# What DESIGN.md's accessibility row forbids; minor and moderate findings are left to audits.
AXE_BLOCKING_IMPACTS = {"serious", "critical"}


def axe_check(page, name: str) -> list[str]:
    """Run axe-core on the page as it is; one readable line per serious or critical violation."""
    results = AXE.run(page)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] not in AXE_BLOCKING_IMPACTS:
            continue
        nodes = violation["nodes"]
        target = nodes[0]["target"] if nodes else "—"
        found.append(
            f"{name} ({page.url}): {violation['id']} [{violation['impact']}] {violation['help']}"
            f" — {len(nodes)} node(s), first: {target}"
        )
    return found


@pytest.fixture(scope="session", autouse=True)
def _release_live_server_connections(django_db_setup, django_db_blocker):
    """The live server's thread may still hold a connection when the test database is dropped."""
    yield
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
