"""Security settings shared by every environment (imported at the end of base.py).

What needs HTTPS (HSTS, the redirect to HTTPS, Secure and __Host- cookies) is in production.py.
"""

from django.core.exceptions import ImproperlyConfigured

from portal import env

# Content-Security-Policy of every HTML page (portal.security.ContentSecurityPolicyMiddleware):
# {directive: [sources]}, or the header's whole value as a string. Scripts are files of our own
# origin only: no inline script, no event handler attribute, no eval. DSFR's styles are files too.
# A settings module may extend it (PORTAL_CSP["img-src"].append(...)); so may PORTAL_CSP_EXTRA.
PORTAL_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
    "base-uri": ["'self'"],
    "object-src": ["'none'"],
}

# Sources a deployment adds, directives separated by ";":
# "img-src https://tuiles.example.fr; connect-src https://stats.example.fr".
_UNSAFE_SCRIPT_SOURCES = {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "data:"}
_SCRIPT_DIRECTIVES = {"default-src", "script-src", "script-src-elem", "script-src-attr"}


def _extend_csp(policy: dict, extra: str) -> dict:
    for part in filter(None, (chunk.strip() for chunk in extra.split(";"))):
        directive, *sources = part.split()
        directive = directive.lower()
        if not directive.replace("-", "").isalpha() or not sources:
            raise ImproperlyConfigured(
                f"PORTAL_CSP_EXTRA : « {part} » n'est pas une directive suivie de ses sources."
            )
        if directive in _SCRIPT_DIRECTIVES and _UNSAFE_SCRIPT_SOURCES & set(sources):
            raise ImproperlyConfigured(
                f"PORTAL_CSP_EXTRA : {directive} refuse 'unsafe-inline', 'unsafe-eval', "
                "'unsafe-hashes', data: et * (les scripts du portail sont tous des fichiers)."
            )
        current = [source for source in policy.get(directive, policy["default-src"]) if source != "'none'"]
        policy[directive] = current + [source for source in sources if source not in current]
    return policy


PORTAL_CSP = _extend_csp(PORTAL_CSP, env.get_str("PORTAL_CSP_EXTRA", ""))

# Browser features no page uses.
PORTAL_PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Session timeouts (portal.security.SessionTimeoutMiddleware) ----------------------------------
# A logged-in user is logged out after this long without a request (to within a minute)…
PORTAL_SESSION_IDLE_SECONDS = env.get_int("PORTAL_SESSION_IDLE_SECONDS", 30 * 60, minimum=120)
# …and this long after logging in, however active. The session cookie lives SESSION_COOKIE_AGE
# after the last activity recorded, within this limit.
PORTAL_SESSION_ABSOLUTE_SECONDS = env.get_int("PORTAL_SESSION_ABSOLUTE_SECONDS", 8 * 3600, minimum=300)
if PORTAL_SESSION_IDLE_SECONDS > PORTAL_SESSION_ABSOLUTE_SECONDS:
    raise ImproperlyConfigured(
        "PORTAL_SESSION_IDLE_SECONDS ne peut pas dépasser PORTAL_SESSION_ABSOLUTE_SECONDS."
    )
