import gettext
import shutil
import subprocess
import sys

from tests.conftest import BASE_DIR, clean_env


def test_makemessages_collects_the_french_strings_into_the_english_catalogue(tmp_path):
    """makemessages works on the project's sources (copied, so the real catalogue is untouched)."""
    for name in ("manage.py", "pyproject.toml"):
        shutil.copy(BASE_DIR / name, tmp_path / name)
    for name in (
        "portal",
        "accounts",
        "organisations",
        "habilitations",
        "mailings",
        "templates",
        "locale",
    ):
        shutil.copytree(BASE_DIR / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "locale/en/LC_MESSAGES/django.po").unlink()
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "en", "--no-obsolete"],
        cwd=tmp_path,
        env=clean_env(DATABASE_URL="postgres://unused@127.0.0.1:1/unused", REDIS_URL="redis://127.0.0.1:1/0"),
        check=True,
        capture_output=True,
        timeout=120,
    )
    catalogue = (tmp_path / "locale/en/LC_MESSAGES/django.po").read_text()
    assert 'msgid "Créer un compte"' in catalogue
    assert 'msgid "Identifiant ou adresse électronique"' in catalogue


def test_the_english_catalogue_is_complete_and_compiled():
    po = BASE_DIR / "locale/en/LC_MESSAGES/django.po"
    mo = BASE_DIR / "locale/en/LC_MESSAGES/django.mo"
    text = po.read_text()
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    entries = text.count("\nmsgid ") - 1  # less the header
    plurals = text.count("\nmsgid_plural ")  # two forms each in English
    assert len(compiled._catalog) - 1 == entries + plurals  # the .mo holds every entry of the .po
    assert compiled.gettext("Créer un compte") == "Create an account"
    assert 'msgstr ""\n\n' not in text.split("\n\n", 1)[1] + "\n\n"
    assert "#, fuzzy" not in text
