import redis
from django.conf import settings
from django.db import connection
from django.db.utils import Error as DatabaseError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def home(request):
    return render(request, "portal/home.html")


def cgu(request):
    return render(
        request,
        "portal/cgu.html",
        {"version": settings.PORTAL_CGU_VERSION, "title": "Conditions générales d'utilisation"},
    )


@require_GET
@never_cache
def healthz(request):
    """The process is up and answering. Touches nothing else."""
    return HttpResponse("ok\n", content_type="text/plain")


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        return f"error: {type(error).__name__}"
    return "ok"


def _check_redis() -> str:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as error:
        return f"error: {type(error).__name__}"
    return "ok"


@require_GET
@never_cache
def readyz(request):
    """Ready to serve: the database and Redis answer. 503 with the failing checks otherwise."""
    checks = {"database": _check_database(), "redis": _check_redis()}
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )
