"""When the database is down: a clear 503 page, never a traceback.

``DatabaseUnavailableMiddleware`` comes first in MIDDLEWARE. When PostgreSQL cannot be reached
(connection refused, server closed the connection, "terminating connection due to administrator
command"…) anywhere while a request is handled, the answer is a 503 with ``Retry-After``: the page
templates/503.html for people, ``{"error": …}`` for the JSON API, the usual "not ready" JSON for
/readyz. The page is rendered without the request: no context processor, no session, no query.

Django turns every exception into a response at the edge of each middleware, so an exception
raised by another middleware (loading the session, the user) never reaches this one as an
exception. Two hooks catch the failure wherever it happens:

- ``process_exception`` for the views: the 503 replaces Django's 500 before anything is logged;
- the ``got_request_exception`` signal, sent while Django is turning an uncaught exception into a
  500, for the middleware: the failure is noted on the request and the 500 is replaced on the way
  out. Django's own log record of that 500 (a traceback) is left out: one line is logged instead.

Recovery needs no restart: the broken connection is closed here (and Django's per-request checks,
CONN_HEALTH_CHECKS, discard a persistent connection that died meanwhile), so the next request
connects again.
"""

import contextlib
import logging
import sys

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import connections
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import get_template
from django.urls import NoReverseMatch, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import escape
from django.utils.log import log_response

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
TITLE = "Service momentanément indisponible"
MESSAGE = "Le portail ne peut pas joindre sa base de données. Réessayez dans quelques instants."
API_PREFIX = "/api/"

# Server-side causes that mean "the database cannot be reached" (SQLSTATE): class 08 (connection
# exceptions), the server shutting down or starting up, too many connections, idle session
# closed. Other operational errors (deadlock, serialization failure, statement timeout, lock not
# available) come from a database that answers: they stay ordinary errors (500).
UNREACHABLE_SQLSTATE_CLASSES = ("08",)
UNREACHABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "57P05", "53300"})

# Where the failure noticed through the signal is kept, on the request.
_FAILURE_ATTRIBUTE = "_portal_database_unreachable"


def database_unreachable(error: BaseException | None) -> bool:
    """True if this exception says that the database cannot be reached (or was lost)."""
    if isinstance(error, InterfaceError):  # the connection is closed or unusable
        return True
    if not isinstance(error, OperationalError):
        return False
    sqlstate = getattr(error.__cause__, "sqlstate", None)
    if sqlstate is None:
        # Raised by the client library itself: refused, closed by the server, timed out.
        return True
    return sqlstate.startswith(UNREACHABLE_SQLSTATE_CLASSES) or sqlstate in UNREACHABLE_SQLSTATES


def _note_failure(sender, request=None, **kwargs):
    """got_request_exception: Django is turning an uncaught exception into a 500."""
    error = sys.exc_info()[1]
    if request is not None and database_unreachable(error):
        setattr(request, _FAILURE_ATTRIBUTE, error)


class _DropNotedFailures(logging.Filter):
    """Leaves out Django's record (with traceback) of a 500 that becomes a 503 here."""

    def filter(self, record):
        request = getattr(record, "request", None)
        return getattr(request, _FAILURE_ATTRIBUTE, None) is None


_drop_noted_failures = _DropNotedFailures()


class DatabaseUnavailableMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response
        got_request_exception.connect(_note_failure, dispatch_uid="portal.unavailable")
        # addFilter does not add the same filter twice.
        logging.getLogger("django.request").addFilter(_drop_noted_failures)

    def __call__(self, request):
        try:
            response = self.get_response(request)
        except (OperationalError, InterfaceError) as error:
            # Only when Django lets exceptions through (DEBUG_PROPAGATE_EXCEPTIONS).
            if not database_unreachable(error):
                raise
            return unavailable_response(request, error)
        error = getattr(request, _FAILURE_ATTRIBUTE, None)
        if error is not None and response.status_code >= 500:
            return unavailable_response(request, error)
        return response

    def process_exception(self, request, exception):
        if database_unreachable(exception):
            return unavailable_response(request, exception)
        return None


def unavailable_response(request, error: BaseException) -> HttpResponse:
    """The 503: logged on one line, the broken connection closed, nothing read from the database."""
    _close_broken_connections()
    if request.path == _readyz_path():
        response = JsonResponse(
            {"status": "not ready", "checks": {"database": f"error: {type(error).__name__}"}},
            status=503,
        )
    elif request.path_info.startswith(API_PREFIX):
        response = JsonResponse(
            {"error": f"{TITLE}. {MESSAGE}"}, status=503, json_dumps_params={"ensure_ascii": False}
        )
    else:
        response = HttpResponse(_page(request), status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    # One line, and Django's own "Service Unavailable: /…" record is not added (already logged).
    log_response(
        "Base de données injoignable, %s %s : réponse 503 (%s: %s)",
        request.method,
        request.path,
        type(error).__name__,
        _one_line(error),
        response=response,
        request=request,
        logger=logger,
        level="error",
    )
    return response


def _close_broken_connections() -> None:
    """Close what cannot be used any more, so that the next request connects again."""
    for connection in connections.all(initialized_only=True):
        if connection.in_atomic_block:  # never in a request here; only under a test's transaction
            continue
        with contextlib.suppress(Exception):
            connection.close_if_unusable_or_obsolete()


def _readyz_path() -> str | None:
    try:
        return reverse("readyz")
    except NoReverseMatch:
        return None


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:300]


def _page(request) -> str:
    retry = request.get_full_path() if request.method in ("GET", "HEAD") else request.path
    context = {
        "retry_url": retry,
        "title": TITLE,
        "message": MESSAGE,
        "operator_name": settings.PORTAL_OPERATOR_NAME,
        "logo_lines": settings.PORTAL_LOGO_TEXT.split("|"),
        "site_title": settings.PORTAL_SITE_TITLE,
        "contact_email": settings.PORTAL_CONTACT_EMAIL,
    }
    try:
        # No request: no context processor runs (they read the session and the user).
        return get_template("503.html").render(context)
    except Exception:  # a broken template must not turn the 503 into a 500
        logger.exception("Le gabarit 503.html n'a pas pu être rendu.")
        return _FALLBACK_PAGE


_FALLBACK_PAGE = (
    '<!DOCTYPE html>\n<html lang="fr">\n<head><meta charset="utf-8">'
    f"<title>{escape(TITLE)}</title></head>\n"
    f"<body><main><h1>{escape(TITLE)}</h1><p>{escape(MESSAGE)}</p></main></body>\n</html>\n"
)
