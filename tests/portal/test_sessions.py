"""The session store (portal/sessions.py): Django's database sessions, read in SQL."""

import datetime

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from portal.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_a_saved_session_is_read_back_with_its_data_and_expiry():
    session = SessionStore()
    session["wizard"] = {"step": "coordonnees", "nom": "Éloïse"}
    session.set_expiry(600)
    session.save()

    again = SessionStore(session.session_key)

    assert again["wizard"] == {"step": "coordonnees", "nom": "Éloïse"}
    assert again.session_key == session.session_key
    assert 590 < again.get_expiry_age() <= 600


def test_an_expired_or_unknown_session_is_a_new_empty_one():
    session = SessionStore()
    session["user"] = "someone"
    session.save()
    Session.objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )

    for key in (session.session_key, "x" * 32, None):
        store = SessionStore(key)
        assert store.load() == {}
        assert store.session_key is None


def test_the_portal_uses_it(client, settings):
    assert settings.SESSION_ENGINE == "portal.sessions"
    client.get("/inscription/?recommencer")
    assert isinstance(client.session, SessionStore)
