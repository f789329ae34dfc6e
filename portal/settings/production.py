"""Production: everything from the environment; refuses to start without the required keys."""

from django.core.exceptions import ImproperlyConfigured

from portal import env

for _name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"):
    if not env.is_set(_name):
        raise ImproperlyConfigured(f"La variable d'environnement {_name} est obligatoire en production.")

from portal.settings.base import *  # noqa: E402, F403

DEBUG = False
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:  # noqa: F405
    raise ImproperlyConfigured("SECRET_KEY doit compter au moins 50 caractères variés en production.")

if CAPTCHA_TEST_MODE:  # noqa: F405
    raise ImproperlyConfigured(
        "CAPTCHA_TEST_MODE est réservé aux tests automatisés : il est refusé en production."
    )

STORAGES["staticfiles"]["BACKEND"] = "whitenoise.storage.CompressedManifestStaticFilesStorage"  # noqa: F405

# HTTPS only (the headers every environment sends: security.py).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.get_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.get_int("SECURE_HSTS_SECONDS", 63072000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.get_bool("SECURE_HSTS_PRELOAD", True)
# Cookies sent over HTTPS only; the __Host- prefix makes the browser refuse them unless Secure,
# on Path=/ and without a Domain (no sibling subdomain can set or overwrite them).
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
