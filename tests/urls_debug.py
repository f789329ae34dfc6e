"""The project's URLs as DEBUG builds them, for tests of the development mailbox."""

from django.urls import include, path

from portal.urls import urlpatterns as project_urlpatterns

urlpatterns = [*project_urlpatterns, path("dev/mailbox/", include("mailings.dev_urls"))]
