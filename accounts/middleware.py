from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseRedirect
from django.urls import reverse

from accounts.passwords import password_is_expired


class PasswordExpiryMiddleware:
    """Sends a logged-in user whose password has expired to the password change page.

    The policy's max_age_days decides (accounts/passwords.py). The change page itself, logging
    out, the forgotten-password pages, the language switch, static files and the health checks
    stay reachable.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._expired(request) and not self._exempt(request.path_info):
            query = urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(f"{reverse('password_change')}?{query}")
        return self.get_response(request)

    @staticmethod
    def _expired(request) -> bool:
        user = getattr(request, "user", None)
        return user is not None and user.is_authenticated and password_is_expired(user)

    @staticmethod
    def _exempt(path: str) -> bool:
        exact = {reverse("password_change"), reverse("logout"), reverse("healthz"), reverse("readyz")}
        prefixes = (
            settings.STATIC_URL,
            reverse("password_reset"),
            reverse("set_language"),
        )
        return path in exact or path.startswith(prefixes)
