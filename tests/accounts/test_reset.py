import datetime
import re
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse

from accounts import throttle
from accounts.access import ResetTokenGenerator
from accounts.passwords import set_password_with_history
from mailings.models import Email
from portal.audit.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.accounts.helpers import PASSWORD, session_texts, text, use_preset, without_csrf

pytestmark = pytest.mark.django_db
EMAIL = "jeanne.dupont@mairie-exemple.fr"
NEW_PASSWORD = "Rivage-du-nord7"


@pytest.fixture
def user():
    return UserFactory(identifiant="jdupont", email=EMAIL, first_name="Jeanne", last_name="Dupont")


def ask_reset(client, email, capture):
    with capture(execute=True):
        return client.post(reverse("password_reset"), {"email": email}, follow=True)


def reset_path(message) -> str:
    match = re.search(r"https?://testserver(/mot-de-passe-oublie/[^/\s]+/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def choose(client, path, password, capture):
    page = client.get(path, follow=True)
    with capture(execute=True):
        return client.post(
            page.redirect_chain[-1][0], {"new_password1": password, "new_password2": password}, follow=True
        )


def test_the_reset_link_is_emailed_through_the_outbox(client, user, django_capture_on_commit_callbacks):
    response = ask_reset(client, "Jeanne.Dupont@Mairie-Exemple.fr", django_capture_on_commit_callbacks)
    assert response.redirect_chain == [(reverse("password_reset_done"), 302)]
    (message,) = mail.outbox
    assert message.to == [EMAIL]
    assert message.subject == "Choisir un nouveau mot de passe — Portail des partenaires"
    assert "Votre identifiant : jdupont" in message.body
    assert "valable 24 heures" in message.body
    assert reset_path(message)
    assert Email.objects.get().template == "password_reset"
    assert AuditEntry.objects.filter(action="password.reset_requested", target_id=str(user.pk)).exists()


def test_the_answer_is_the_same_with_or_without_an_account(client, user, django_capture_on_commit_callbacks):
    known = ask_reset(client, EMAIL, django_capture_on_commit_callbacks)
    unknown = ask_reset(client, "personne@mairie-exemple.fr", django_capture_on_commit_callbacks)
    assert known.redirect_chain == unknown.redirect_chain
    assert without_csrf(known.content.decode()) == without_csrf(unknown.content.decode())
    assert "Si un compte actif utilise cette adresse électronique" in text(known)
    assert len(mail.outbox) == 1


def test_choosing_a_new_password_through_the_link(settings, client, user, django_capture_on_commit_callbacks):
    use_preset(settings, "anru")
    ask_reset(client, EMAIL, django_capture_on_commit_callbacks)
    path = reset_path(mail.outbox[0])
    page = client.get(path, follow=True)
    assert "Choisir un nouveau mot de passe" in text(page)
    assert "Au moins une lettre majuscule." in text(page)

    refused = choose(client, path, "rivage-du-nord", django_capture_on_commit_callbacks)
    assert "Ce mot de passe doit contenir au moins un chiffre." in text(refused)

    response = choose(client, path, NEW_PASSWORD, django_capture_on_commit_callbacks)
    assert response.redirect_chain[-1] == (reverse("password_reset_complete"), 302)
    assert "Mot de passe enregistré" in text(response)
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert AuditEntry.objects.get(action="password.reset").actor == user
    assert mail.outbox[-1].subject == "Votre mot de passe a été changé — Portail des partenaires"
    assert "a été changé le" in mail.outbox[-1].body
    assert all(NEW_PASSWORD not in session for session in session_texts())

    # The link served once.
    again = client.get(path, follow=True)
    assert "Ce lien n'est plus valable" in text(again)
    assert f'href="{reverse("password_reset")}"' in again.content.decode()


def test_bdt_refuses_a_recent_password_on_the_reset_page(
    settings, client, user, django_capture_on_commit_callbacks
):
    use_preset(settings, "bdt")
    set_password_with_history(user, "Ancien-mdp-7")
    ask_reset(client, EMAIL, django_capture_on_commit_callbacks)
    response = choose(client, reset_path(mail.outbox[0]), "Ancien-mdp-7", django_capture_on_commit_callbacks)
    assert "Vous avez déjà utilisé ce mot de passe" in text(response)


def test_the_link_expires_with_the_access_link_hours(
    settings, client, user, django_capture_on_commit_callbacks
):
    settings.PORTAL_ACCESS_LINK_HOURS = 2
    ask_reset(client, EMAIL, django_capture_on_commit_callbacks)
    path = reset_path(mail.outbox[0])
    later = datetime.datetime.now() + datetime.timedelta(hours=3)
    with mock.patch.object(ResetTokenGenerator, "_now", return_value=later):
        response = client.get(path, follow=True)
    assert "Ce lien n'est plus valable" in text(response)


def test_an_account_without_a_password_can_get_one_by_reset(client, django_capture_on_commit_callbacks):
    user = UserFactory(email=EMAIL)
    user.set_unusable_password()
    user.save()
    ask_reset(client, EMAIL, django_capture_on_commit_callbacks)
    response = choose(client, reset_path(mail.outbox[0]), NEW_PASSWORD, django_capture_on_commit_callbacks)
    assert response.redirect_chain[-1] == (reverse("password_reset_complete"), 302)
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_an_inactive_account_gets_no_link(client, django_capture_on_commit_callbacks):
    UserFactory(email=EMAIL, is_active=False)
    ask_reset(client, EMAIL, django_capture_on_commit_callbacks)
    assert mail.outbox == []


def test_links_are_limited_per_address_without_saying_so(client, user, django_capture_on_commit_callbacks):
    responses = [ask_reset(client, EMAIL, django_capture_on_commit_callbacks) for _ in range(7)]
    assert all(response.redirect_chain == [(reverse("password_reset_done"), 302)] for response in responses)
    assert len(mail.outbox) == 5


def test_a_new_password_lifts_the_login_lock(client, user, django_capture_on_commit_callbacks):
    attempt_ip = "198.51.100.1"
    for _ in range(throttle.LOCK_AFTER):
        throttle.record_failure(throttle.Attempt(login="jdupont", ip=attempt_ip))
    with pytest.raises(throttle.Refused):
        throttle.check(login="jdupont", ip=None)
    ask_reset(client, EMAIL, django_capture_on_commit_callbacks)
    choose(client, reset_path(mail.outbox[0]), NEW_PASSWORD, django_capture_on_commit_callbacks)
    throttle.check(login="jdupont", ip=None)  # no longer refused
    response = client.post(reverse("login"), {"username": "jdupont", "password": NEW_PASSWORD})
    assert response.status_code == 302


# Forgotten identifiant ----------------------------------------------------------------------------


def test_the_identifiants_of_an_address_are_emailed(client, user, django_capture_on_commit_callbacks):
    UserFactory(identifiant="jdupont-bailleur", email=EMAIL.upper())
    UserFactory(identifiant="parti", email=EMAIL, is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("identifiant_reminder"), {"email": EMAIL}, follow=True)
    assert response.redirect_chain == [(reverse("identifiant_reminder_done"), 302)]
    (message,) = mail.outbox
    assert message.subject == "Votre identifiant sur le Portail des partenaires"
    assert "- jdupont (Jeanne Dupont)" in message.body
    assert "- jdupont-bailleur" in message.body
    assert "parti" not in message.body
    assert PASSWORD not in message.body
    assert "http://testserver/connexion/" in message.body


def test_the_identifiant_answer_is_the_same_with_or_without_an_account(
    client, user, django_capture_on_commit_callbacks
):
    pages = []
    for email in (EMAIL, "personne@mairie-exemple.fr"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("identifiant_reminder"), {"email": email}, follow=True)
        pages.append((response.redirect_chain, without_csrf(response.content.decode())))
    assert pages[0] == pages[1]
    assert len(mail.outbox) == 1


def test_recovery_pages_are_labelled_and_explain_errors_in_french(client):
    for name in ("password_reset", "identifiant_reminder"):
        page = client.get(reverse(name)).content.decode()
        assert 'for="id_email"' in page
        assert "Sauf mention contraire, tous les champs sont obligatoires." in page
        response = client.post(reverse(name), {"email": "pas-une-adresse"})
        assert response.status_code == 200
        assert 'href="#id_email"' in response.content.decode()
        assert 'aria-invalid="true"' in response.content.decode()
