"""Read settings from the environment, refusing malformed values.

Every helper raises ``ImproperlyConfigured`` with the variable's name and what was expected,
so a typo in a deployment fails at start-up instead of silently falling back to a default.
"""

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

REQUIRED = object()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name, default):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        if default is REQUIRED:
            raise ImproperlyConfigured(f"La variable d'environnement {name} est obligatoire.")
        return None
    return value.strip()


def is_set(name: str) -> bool:
    return bool(os.environ.get(name, "").strip())


def get_str(name: str, default=REQUIRED) -> str:
    value = _raw(name, default)
    return default if value is None else value


def get_bool(name: str, default=REQUIRED) -> bool:
    value = _raw(name, default)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} doit valoir true ou false (ou 1/0, yes/no, on/off), pas {value!r}.")


def get_int(name: str, default=REQUIRED, *, minimum: int | None = None, maximum: int | None = None):
    value = _raw(name, default)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} doit être un nombre entier, pas {value!r}.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} doit être au moins {minimum}, pas {number}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name} doit être au plus {maximum}, pas {number}.")
    return number


def get_list(name: str, default=REQUIRED) -> list[str]:
    value = _raw(name, default)
    if value is None:
        return list(default)
    items = [item.strip() for item in value.split(",")]
    if any(not item for item in items):
        raise ImproperlyConfigured(f"{name} est une liste séparée par des virgules sans élément vide.")
    return items


def get_choice(name: str, choices, default=REQUIRED) -> str:
    value = get_str(name, default)
    if value not in choices:
        allowed = ", ".join(sorted(choices))
        raise ImproperlyConfigured(f"{name} doit valoir l'une de ces valeurs : {allowed} ; pas {value!r}.")
    return value


def get_url(name: str, schemes, default=REQUIRED) -> str:
    value = get_str(name, default)
    if value is None:
        return value
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise ImproperlyConfigured(
            f"{name} doit être une URL dont le schéma est l'un de : {allowed} ; pas {value!r}."
        )
    return value


def database_config(url: str) -> dict:
    """DATABASES["default"] for a postgres:// URL (unix sockets as a percent-encoded host)."""
    import dj_database_url

    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(f"DATABASE_URL doit être une URL postgres://, pas {url!r}.")
    if not parts.path.strip("/"):
        raise ImproperlyConfigured("DATABASE_URL doit nommer la base de données (postgres://…/nom).")
    config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    config.setdefault("OPTIONS", {})["connect_timeout"] = 5
    return config


def email_config(url: str, *, base_dir: Path) -> dict:
    """Django e-mail settings for EMAIL_URL.

    smtp://[user:password@]host[:port][?starttls=true], smtps://… (implicit TLS), console://,
    file:///absolute/dir or file://relative/dir (one .eml file per message), locmem:// (tests).
    """
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme in {"smtp", "smtps"}:
        if not parts.hostname:
            raise ImproperlyConfigured(f"EMAIL_URL doit nommer un serveur : {url!r}.")
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"EMAIL_URL a un port invalide : {url!r}.") from None
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        starttls = query.get("starttls", "false").lower()
        if starttls not in _TRUE | _FALSE:
            raise ImproperlyConfigured(f"EMAIL_URL : starttls doit valoir true ou false : {url!r}.")
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": parts.hostname,
            "EMAIL_PORT": port or (465 if scheme == "smtps" else 25),
            "EMAIL_HOST_USER": unquote(parts.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
            "EMAIL_USE_SSL": scheme == "smtps",
            "EMAIL_USE_TLS": scheme == "smtp" and starttls in _TRUE,
            "EMAIL_TIMEOUT": 20,
        }
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "locmem":
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if scheme == "file":
        raw_path = unquote(parts.netloc + parts.path)
        if not raw_path:
            raise ImproperlyConfigured(f"EMAIL_URL doit nommer un dossier : {url!r}.")
        path = Path(raw_path)
        if not path.is_absolute():
            path = base_dir / path
        return {"EMAIL_BACKEND": "mailings.backends.EmlFileBackend", "EMAIL_FILE_PATH": str(path)}
    raise ImproperlyConfigured(
        f"EMAIL_URL doit commencer par smtp://, smtps://, console://, file:// ou locmem:// : {url!r}."
    )
