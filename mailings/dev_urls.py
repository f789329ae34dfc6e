"""The development mailbox: only routed when DEBUG is on (portal/urls.py)."""

from django.urls import path

from mailings import dev_views

urlpatterns = [
    path("", dev_views.mailbox, name="dev_mailbox"),
    path("<str:name>/", dev_views.message, name="dev_mailbox_message"),
]
