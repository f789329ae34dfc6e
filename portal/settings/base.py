"""Settings shared by every environment. Values come from the environment (see README)."""

from pathlib import Path

from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

from portal import env
from portal.settings.presets import PRESETS

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env.get_str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = False
SECRET_KEY = env.get_str("SECRET_KEY")
ALLOWED_HOSTS = env.get_list("ALLOWED_HOSTS", [])
CSRF_TRUSTED_ORIGINS = env.get_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    # Before django.forms: its checkbox and radio option templates (fr-checkbox-group, hints) win.
    "dsfr",
    "django.forms",
    "widget_tweaks",
    "formtools",
    "captcha",
    "django_otp",
    "portal",
    "portal.audit",
    "accounts",
    "organisations",
    "habilitations",
    "mailings",
]

MIDDLEWARE = [
    "portal.unavailable.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "portal.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.middleware.ClientIPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.security.SessionTimeoutMiddleware",
    "accounts.middleware.PasswordExpiryMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
        },
    },
]
FORM_RENDERER = "portal.form_rendering.PortalFormRenderer"
# The DSFR marks optional fields, not required ones (portal.forms.PortalForm).
DSFR_MARK_OPTIONAL_FIELDS = True

# Database and Redis -----------------------------------------------------------------------------
# DATABASE_URL and REDIS_URL are required here; dev and test settings point them at the embedded
# servers under var/ when they are unset (portal/embedded.py).
DATABASE_URL = env.get_url("DATABASE_URL", {"postgres", "postgresql", "pgsql"})
DATABASES = {"default": env.database_config(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.get_url("REDIS_URL", {"redis", "rediss", "unix"})
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "portal",
        "OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 2},
    }
}

# Accounts and passwords -------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.IdentifiantOrEmailBackend"]
# The identifiant is unique without regard to case through a functional unique constraint, which
# Django's check cannot see; the authentication backend looks it up case-insensitively.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Django's database sessions, read with one plain query (portal/sessions.py).
SESSION_ENGINE = "portal.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.get_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=300)
CSRF_COOKIE_HTTPONLY = True

# Languages --------------------------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Europe/Paris"
USE_TZ = True

# Static files -----------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.get_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Mail -------------------------------------------------------------------------------------------
EMAIL_URL = env.get_str("EMAIL_URL", "console://")
globals().update(env.email_config(EMAIL_URL, base_dir=BASE_DIR))
DEFAULT_FROM_EMAIL = env.get_str(
    "DEFAULT_FROM_EMAIL", "Portail partenaires <ne-pas-repondre@portail.localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Delivery attempts of one e-mail before it is marked failed, and the relay's grace period.
EMAIL_MAX_ATTEMPTS = env.get_int("EMAIL_MAX_ATTEMPTS", 5, minimum=1)
EMAIL_RELAY_AFTER_SECONDS = env.get_int("EMAIL_RELAY_AFTER_SECONDS", 60, minimum=1)

# Celery -----------------------------------------------------------------------------------------
# redis-py spells a Unix socket unix:///path; kombu wants redis+socket:///path.
CELERY_BROKER_URL = (
    "redis+socket://" + REDIS_URL.removeprefix("unix://") if REDIS_URL.startswith("unix://") else REDIS_URL
)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "relay-pending-emails": {"task": "mailings.tasks.relay_pending_emails", "schedule": 60.0},
    # Celery's clock is TIME_ZONE (Europe/Paris): after INSEE's nightly processing.
    "sync-sirene": {"task": "organisations.tasks.sync_sirene", "schedule": crontab(hour=3, minute=30)},
    "expire-admin-claims": {
        "task": "organisations.tasks.expire_admin_claims",
        "schedule": crontab(hour=6, minute=0),
    },
    "remind-admin-claims": {
        "task": "organisations.tasks.remind_admin_claims",
        "schedule": crontab(hour=6, minute=10),
    },
    # The purges run at night, when nobody signs up; the notices leave in the morning.
    "purge-expired-login-codes": {
        "task": "accounts.tasks.purge_expired_login_codes",
        "schedule": crontab(hour=4, minute=0),
    },
    "purge-pending-signups": {
        "task": "accounts.tasks.purge_pending_signups",
        "schedule": crontab(hour=4, minute=10),
    },
    "purge-unactivated-accounts": {
        "task": "accounts.tasks.purge_unactivated_accounts",
        "schedule": crontab(hour=4, minute=20),
    },
    "notify-password-expiry": {
        "task": "accounts.tasks.notify_password_expiry",
        "schedule": crontab(hour=8, minute=0),
    },
}

# The operator -----------------------------------------------------------------------------------
PORTAL_OPERATOR_NAME = env.get_str("PORTAL_OPERATOR_NAME", "Agence nationale pour la rénovation urbaine")
# The text of the DSFR logo block ("Marianne"): lines separated by "|".
PORTAL_LOGO_TEXT = env.get_str("PORTAL_LOGO_TEXT", "République|Française")
# The operator with its article, as it reads after "de": "l'ANRU", "la Banque des Territoires".
PORTAL_OPERATOR_SHORT_NAME = env.get_str("PORTAL_OPERATOR_SHORT_NAME", "l'ANRU")
PORTAL_SITE_TITLE = env.get_str("PORTAL_SITE_TITLE", "Portail des partenaires")
PORTAL_SITE_TAGLINE = env.get_str(
    "PORTAL_SITE_TAGLINE", "Inscription et accès aux services en ligne de l'opérateur"
)
PORTAL_CONTACT_EMAIL = env.get_str("PORTAL_CONTACT_EMAIL", "contact@portail.localhost")
# Reverse proxies in front of the web processes whose X-Forwarded-For may be trusted.
PORTAL_TRUSTED_PROXIES = env.get_int("PORTAL_TRUSTED_PROXIES", 0, minimum=0, maximum=5)

# The operator's preset (portal/settings/presets.py) --------------------------------------------
PORTAL_PRESET = env.get_choice("PORTAL_PRESET", set(PRESETS), "default")
PORTAL_ONBOARDING_RULES = PRESETS[PORTAL_PRESET]["ONBOARDING_RULES"]
PORTAL_PASSWORD_POLICY = PRESETS[PORTAL_PRESET]["PASSWORD_POLICY"]
# The validators enforcing that policy (accounts/passwords.py). A settings module that overrides
# PORTAL_PASSWORD_POLICY rebuilds them: AUTH_PASSWORD_VALIDATORS = password_validators(policy).
from accounts.passwords import password_validators  # noqa: E402

AUTH_PASSWORD_VALIDATORS = password_validators(PORTAL_PASSWORD_POLICY)
PORTAL_EMAIL_CODE = PRESETS[PORTAL_PRESET]["EMAIL_CODE"]
PORTAL_REFUSE_FREE_MAIL = env.get_bool("PORTAL_REFUSE_FREE_MAIL", PRESETS[PORTAL_PRESET]["REFUSE_FREE_MAIL"])
PORTAL_CLIENT_NUMBERS = PRESETS[PORTAL_PRESET]["CLIENT_NUMBERS"]
# The applicant chooses their identifiant in the wizard (else one is made from their name).
PORTAL_CHOOSE_IDENTIFIANT = PRESETS[PORTAL_PRESET]["CHOOSE_IDENTIFIANT"]
# The version of the general terms (CGU) an applicant accepts; stored with each registration.
PORTAL_CGU_VERSION = env.get_str("PORTAL_CGU_VERSION", "2026-01")
# Lifetime of the "Création de mon accès technique" link, in hours.
PORTAL_ACCESS_LINK_HOURS = env.get_int("PORTAL_ACCESS_LINK_HOURS", 24, minimum=1, maximum=24 * 14)
# The portal's address, for links in e-mails sent outside a request (tasks, commands).
PORTAL_BASE_URL = env.get_str("PORTAL_BASE_URL", "http://127.0.0.1:8000")
# Delegated administration (rule R3): the letter's activation code lives this many days, the
# applicant is reminded this many days before it ends, and this many wrong codes block it.
PORTAL_ADMIN_CLAIM = {
    "days": env.get_int("PORTAL_ADMIN_CLAIM_DAYS", 30, minimum=7, maximum=90),
    "reminder_days": env.get_int("PORTAL_ADMIN_CLAIM_REMINDER_DAYS", 7, minimum=1, maximum=30),
    "max_tries": 5,
}
# The operator's postal address, printed as the sender of letters: lines separated by "|".
PORTAL_OPERATOR_ADDRESS = env.get_str("PORTAL_OPERATOR_ADDRESS", "")
# Unconfirmed signups (code never typed) are forgotten after this many hours.
PORTAL_PENDING_SIGNUP_HOURS = env.get_int("PORTAL_PENDING_SIGNUP_HOURS", 24, minimum=1)
# Retention periods (data protection) and notices of the daily jobs (accounts/jobs.py).
# A confirmed signup's answers are deleted this many days after its confirmation.
PORTAL_PENDING_SIGNUP_RETENTION_DAYS = env.get_int("PORTAL_PENDING_SIGNUP_RETENTION_DAYS", 30, minimum=1)
# An account never activated (no password chosen, never logged in, no approved registration) is
# deleted this many days after its creation and its latest registration.
PORTAL_UNACTIVATED_ACCOUNT_RETENTION_DAYS = env.get_int(
    "PORTAL_UNACTIVATED_ACCOUNT_RETENTION_DAYS", 90, minimum=30
)
# When the password policy has a maximum age: users are told this many days before it ends.
PORTAL_PASSWORD_EXPIRY_NOTICE_DAYS = env.get_int(
    "PORTAL_PASSWORD_EXPIRY_NOTICE_DAYS", 14, minimum=1, maximum=60
)

# The organisation registry's APIs (organisations/sirene_api.py). Without an INSEE key the daily
# sync (sync_sirene) does nothing, and a number missing from the mirror is looked up in the API
# Recherche d'entreprises only.
INSEE_API_KEY = env.get_str("INSEE_API_KEY", "")
INSEE_API_URL = env.get_url("INSEE_API_URL", {"https", "http"}, "https://api.insee.fr/api-sirene/3.11")
RECHERCHE_ENTREPRISES_URL = env.get_url(
    "RECHERCHE_ENTREPRISES_URL", {"https", "http"}, "https://recherche-entreprises.api.gouv.fr"
)
# Seconds to wait for an answer: the nightly sync can wait, a search typed in a form cannot.
SIRENE_SYNC_TIMEOUT = env.get_int("SIRENE_SYNC_TIMEOUT", 60, minimum=1)
SIRENE_LIVE_TIMEOUT = env.get_int("SIRENE_LIVE_TIMEOUT", 4, minimum=1, maximum=30)
# Look a valid SIREN/SIRET missing from the mirror up in the APIs (off on a server without internet).
SIRENE_LIVE_FETCH = env.get_bool("SIRENE_LIVE_FETCH", True)

# Anti-spam image (django-simple-captcha, accounts/captcha.py): case-sensitive mixed-case text.
CAPTCHA_CHALLENGE_FUNCT = "accounts.captcha.mixed_case_challenge"
CAPTCHA_LENGTH = 6
CAPTCHA_TIMEOUT = 15  # minutes
CAPTCHA_FONT_SIZE = 30
# Automated tests only: any image is solved by typing "PASSED". Production refuses it.
CAPTCHA_TEST_MODE = env.get_bool("CAPTCHA_TEST_MODE", False)
# Reads the image aloud; without it, the audio link is not offered.
CAPTCHA_SPEECH_COMMAND = env.get_str("CAPTCHA_SPEECH_COMMAND", "espeak-ng")
# Where the staff are told of registrations waiting for them (empty: nobody is e-mailed).
PORTAL_STAFF_EMAIL = env.get_str("PORTAL_STAFF_EMAIL", "")

# Logging: one line per record on stderr, the way containers and journald want it.
LOG_LEVEL = env.get_choice("LOG_LEVEL", {"DEBUG", "INFO", "WARNING", "ERROR"}, "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "line"}},
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

from portal.settings.security import *  # noqa: E402, F403
