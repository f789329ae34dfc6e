from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portail"

    def ready(self):
        # The session clocks start at every login (portal.security._stamp_login), including the
        # first one a process sees before its middleware is loaded.
        from portal import security  # noqa: F401
