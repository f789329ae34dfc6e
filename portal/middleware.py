import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or the one our trusted proxies put in X-Forwarded-For.

    What a client wrote there ends up in this list too: a value that is not an address is ignored.
    """
    trusted = settings.PORTAL_TRUSTED_PROXIES
    if trusted:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= trusted and _is_address(hops[-trusted]):
            return hops[-trusted]
    return request.META.get("REMOTE_ADDR") or None


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


class ClientIPMiddleware:
    """Sets request.client_ip once, for rate limits and the audit log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.client_ip = client_ip(request)
        return self.get_response(request)
