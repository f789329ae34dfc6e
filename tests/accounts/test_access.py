import re
import time
from unittest import mock

import pytest
from django.core import mail, signing
from django.test import RequestFactory
from django.urls import reverse

from accounts.access import ACCESS_LINK_SALT, make_access_token, read_access_token, send_access_link
from mailings.models import Email
from portal.audit.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.accounts.helpers import session_texts, use_preset

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Rivage-du-nord7"


@pytest.fixture
def applicant():
    """An approved applicant who has not chosen a password yet."""
    user = UserFactory(identifiant="jdupont", email="jeanne.dupont@mairie-exemple.fr", first_name="Jeanne")
    user.set_unusable_password()
    user.save()
    return user


def link_path(message) -> str:
    match = re.search(r"https?://[^/\s]+(/acces/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_the_email_names_the_operator_and_carries_an_absolute_single_use_link(
    settings, applicant, django_capture_on_commit_callbacks
):
    settings.PORTAL_OPERATOR_NAME = "l'ANRU"
    settings.PORTAL_BASE_URL = "https://partenaires.example.gouv.fr"
    with django_capture_on_commit_callbacks(execute=True):
        send_access_link(user=applicant)
    (message,) = mail.outbox
    assert message.to == ["jeanne.dupont@mairie-exemple.fr"]
    assert message.subject == "Création de mon accès technique pour utiliser les services de l'ANRU"
    assert "https://partenaires.example.gouv.fr/acces/" in message.body
    assert "Votre identifiant : jdupont" in message.body
    assert "valable 24 heures" in message.body
    html = message.alternatives[0][0]
    assert 'href="https://partenaires.example.gouv.fr/acces/' in html
    row = Email.objects.get()
    assert row.template == "access_link"
    assert row.subject == message.subject
    assert AuditEntry.objects.filter(action="access.link_sent", target_id=str(applicant.pk)).exists()


def test_with_a_request_the_link_uses_the_requests_host(
    settings, applicant, django_capture_on_commit_callbacks
):
    settings.ALLOWED_HOSTS = ["portail.anru.fr"]
    request = RequestFactory().get("/", HTTP_HOST="portail.anru.fr", secure=True)
    with django_capture_on_commit_callbacks(execute=True):
        send_access_link(user=applicant, request=request)
    assert "https://portail.anru.fr/acces/" in mail.outbox[0].body


def test_choosing_the_password_logs_in_and_the_link_then_serves_no_more(
    settings, client, applicant, django_capture_on_commit_callbacks
):
    use_preset(settings, "anru")
    path = reverse("access_link", args=[make_access_token(applicant)])
    page = client.get(path).content.decode()
    assert "Création de mon accès technique" in page
    assert "<strong>jdupont</strong>" in page
    # The rules are on the page, usable without the script.
    assert "Au moins 9 caractères." in page
    assert "Au moins une lettre majuscule." in page
    assert 'src="/static/accounts/password-hints.js"' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True
        )
    assert response.redirect_chain == [(reverse("dashboard"), 302)]
    assert response.context["user"] == applicant
    assert "Votre mot de passe est enregistré : vous êtes connecté." in response.content.decode()
    applicant.refresh_from_db()
    assert applicant.check_password(NEW_PASSWORD)
    assert applicant.password_changed_at is not None
    entry = AuditEntry.objects.get(action="access.password_set")
    assert entry.actor == applicant
    assert [message.subject for message in mail.outbox] == [
        "Votre mot de passe a été changé — Portail des partenaires"
    ]
    assert all(NEW_PASSWORD not in text for text in session_texts())

    client.logout()
    again = client.get(path).content.decode()
    assert "Ce lien n'est plus valable" in again
    assert f'href="{reverse("password_reset")}"' in again
    response = client.post(path, {"new_password1": "Autre-mot-2026", "new_password2": "Autre-mot-2026"})
    assert "Ce lien n'est plus valable" in response.content.decode()
    applicant.refresh_from_db()
    assert applicant.check_password(NEW_PASSWORD)


def test_a_password_outside_the_policy_is_refused_and_the_link_keeps_serving(settings, client, applicant):
    use_preset(settings, "anru")
    path = reverse("access_link", args=[make_access_token(applicant)])
    response = client.post(path, {"new_password1": "rivage-du-nord", "new_password2": "rivage-du-nord"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Ce mot de passe doit contenir au moins un chiffre." in page
    assert "Ce mot de passe doit contenir au moins une lettre majuscule." in page
    assert 'href="#id_new_password1"' in page
    assert read_access_token(path.split("/")[2]) == applicant


def test_the_link_expires_after_the_configured_hours(settings, client, applicant):
    settings.PORTAL_ACCESS_LINK_HOURS = 24
    token = make_access_token(applicant)
    path = reverse("access_link", args=[token])
    in_23_hours = time.time() + 23 * 3600
    with mock.patch("django.core.signing.time.time", return_value=in_23_hours):
        assert read_access_token(token) == applicant
    in_25_hours = time.time() + 25 * 3600
    with mock.patch("django.core.signing.time.time", return_value=in_25_hours):
        assert read_access_token(token) is None
        page = client.get(path).content.decode()
    assert "Ce lien n'est plus valable" in page
    assert "valable que 24 heures" in page


def test_logging_in_meanwhile_or_a_tampered_token_ends_the_link(client, applicant):
    token = make_access_token(applicant)
    assert read_access_token(token + "x") is None
    assert read_access_token("n'importe-quoi") is None
    fingerprint = signing.loads(token, salt=ACCESS_LINK_SALT)["f"]
    other = UserFactory()
    # Signed right but for another account, or signed for something else: refused.
    assert read_access_token(signing.dumps({"u": other.pk, "f": fingerprint}, salt=ACCESS_LINK_SALT)) is None
    assert read_access_token(signing.dumps({"u": applicant.pk, "f": fingerprint}, salt="autre-chose")) is None
    assert read_access_token(signing.dumps({"u": applicant.pk, "f": fingerprint}, salt=ACCESS_LINK_SALT))
    client.force_login(applicant)  # sets last_login
    assert read_access_token(token) is None


def test_an_inactive_account_gets_no_access(applicant):
    token = make_access_token(applicant)
    applicant.is_active = False
    applicant.save()
    assert read_access_token(token) is None
