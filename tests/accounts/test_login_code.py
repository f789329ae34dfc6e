import datetime
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import LoginCode
from mailings.models import Email
from portal.audit.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.accounts.helpers import session_texts, text, use_preset, without_csrf

pytestmark = pytest.mark.django_db
EMAIL = "jeanne.dupont@mairie-exemple.fr"


@pytest.fixture
def user():
    return UserFactory(identifiant="jdupont", email=EMAIL)


def ask_code(client, login, capture, **extra):
    with capture(execute=True):
        response = client.post(reverse("login_code_request"), {"login": login}, **extra)
    return response


def code_from(message) -> str:
    match = re.search(r"^\s*(\d{4,})\s*$", message.body, re.MULTILINE)
    assert match, message.body
    return match.group(1)


def type_code(client, code):
    return client.post(reverse("login_code_verify"), {"code": code})


def test_the_login_page_offers_the_code(client):
    page = client.get(reverse("login")).content.decode()
    assert f'href="{reverse("login_code_request")}"' in page
    assert "Recevoir un code par e-mail" in page
    assert f'href="{reverse("password_reset")}"' in page
    assert f'href="{reverse("identifiant_reminder")}"' in page


def test_a_code_is_emailed_stored_hashed_and_logs_in_once(client, user, django_capture_on_commit_callbacks):
    response = ask_code(client, "JDupont", django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert response["Location"] == reverse("login_code_verify")
    (message,) = mail.outbox
    assert message.to == [EMAIL]
    assert message.subject == "Votre code de connexion au Portail des partenaires"
    code = code_from(message)
    assert len(code) == 6
    assert "valable 10 minutes" in message.body

    # Only a salted HMAC is stored: the code appears nowhere in the row, nor in the session.
    login_code = LoginCode.objects.get()
    stored = " ".join(str(getattr(login_code, field.attname)) for field in LoginCode._meta.fields)
    assert code not in stored
    assert len(login_code.code_hash) == 64
    assert login_code.salt
    assert all(code not in text for text in session_texts())
    assert Email.objects.get().template == "login_code"

    response = type_code(client, code)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert client.get(reverse("home")).context["user"] == user
    login_code.refresh_from_db()
    assert login_code.used_at is not None
    entry = AuditEntry.objects.get(action="login.code")
    assert entry.actor == user

    client.logout()
    ask_code(client, "someone-else", django_capture_on_commit_callbacks)
    assert type_code(client, code).status_code == 200  # that code is spent


def test_the_answer_is_the_same_for_an_account_and_for_nobody(
    client, user, django_capture_on_commit_callbacks
):
    pages = []
    for login in ("jdupont", "personne"):
        client.cookies.clear()
        response = ask_code(client, login, django_capture_on_commit_callbacks)
        assert response.status_code == 302
        assert response["Location"] == reverse("login_code_verify")
        page = client.get(reverse("login_code_verify")).content.decode()
        assert "Si un compte actif correspond à ce que vous avez saisi" in page
        wrong = text(type_code(client, "000000"))
        pages.append((without_csrf(page), without_csrf(wrong)))
    assert pages[0] == pages[1]
    assert "Code incorrect. Il vous reste 4 essais." in pages[1][1]
    assert len(mail.outbox) == 1


def test_wrong_codes_say_how_many_tries_are_left_then_the_code_is_spent(
    settings, client, user, django_capture_on_commit_callbacks
):
    use_preset(settings, "bdt")  # 4 digits, 3 tries
    ask_code(client, EMAIL, django_capture_on_commit_callbacks)
    code = code_from(mail.outbox[0])
    assert len(code) == 4
    assert "Le code à 4 chiffres que nous venons de vous envoyer." in text(
        client.get(reverse("login_code_verify"))
    )
    wrong = "0000" if code != "0000" else "1111"
    assert "Il vous reste 2 essais." in text(type_code(client, wrong))
    assert "Il vous reste 1 essai." in text(type_code(client, wrong))
    assert "Ce code n'est plus valable : demandez un nouveau code." in text(type_code(client, wrong))
    page = text(type_code(client, code))  # the right code, too late
    assert "Ce code n'est plus valable. Demandez un nouveau code." in page
    assert client.get(reverse("home")).context["user"].is_anonymous
    assert LoginCode.objects.get().tries == 3
    assert AuditEntry.objects.filter(action="login.failed", details__method="code").count() == 3


def test_a_badly_typed_code_uses_no_try(client, user, django_capture_on_commit_callbacks):
    ask_code(client, "jdupont", django_capture_on_commit_callbacks)
    page = text(type_code(client, "12ab"))
    assert "Le code se compose de 6 chiffres." in page
    assert LoginCode.objects.get().tries == 0
    # Spaces typed or pasted with the code are ignored.
    code = code_from(mail.outbox[0])
    assert type_code(client, f"{code[:3]} {code[3:]}").status_code == 302


def test_an_expired_code_does_not_log_in(client, user, django_capture_on_commit_callbacks):
    ask_code(client, "jdupont", django_capture_on_commit_callbacks)
    LoginCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    page = text(type_code(client, code_from(mail.outbox[0])))
    assert "Ce code n'est plus valable. Demandez un nouveau code." in page


def test_a_new_code_ends_the_previous_one(client, user, django_capture_on_commit_callbacks):
    ask_code(client, "jdupont", django_capture_on_commit_callbacks)
    first = code_from(mail.outbox[0])
    ask_code(client, "jdupont", django_capture_on_commit_callbacks)
    second = code_from(mail.outbox[1])
    if first != second:
        assert type_code(client, first).status_code == 200
    assert type_code(client, second).status_code == 302


def test_an_inactive_account_gets_no_code(client, django_capture_on_commit_callbacks):
    UserFactory(identifiant="parti", is_active=False)
    response = ask_code(client, "parti", django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert mail.outbox == []


def test_sends_are_limited_per_typed_login_and_silently_per_address(
    client, user, django_capture_on_commit_callbacks
):
    # Typed as identifiant then as address: neither typed login reaches its limit of 5, but the
    # address receives no more than 5 codes an hour — and nothing on the page says so.
    answers = [
        ask_code(client, login, django_capture_on_commit_callbacks) for login in ["jdupont", EMAIL] * 3
    ]
    assert all(answer.status_code == 302 for answer in answers)
    assert len(mail.outbox) == 5
    # The typed login's own limit is said, the same for an unknown login.
    for login in ("jdupont", "personne"):
        for _ in range(5 - (3 if login == "jdupont" else 0)):
            assert ask_code(client, login, django_capture_on_commit_callbacks).status_code == 302
        refused = ask_code(client, login, django_capture_on_commit_callbacks)
        assert refused.status_code == 200
        assert "Trop de codes ont été demandés." in text(refused)


def test_sends_are_limited_to_20_an_hour_per_address(client, django_capture_on_commit_callbacks):
    for number in range(20):
        response = ask_code(client, f"personne{number}", django_capture_on_commit_callbacks)
        assert response.status_code == 302
    refused = ask_code(client, "personne-de-plus", django_capture_on_commit_callbacks)
    assert refused.status_code == 200
    assert "Trop de codes ont été demandés." in text(refused)
    other_address = ask_code(
        client, "personne-de-plus", django_capture_on_commit_callbacks, REMOTE_ADDR="192.0.2.9"
    )
    assert other_address.status_code == 302


def test_the_code_page_needs_a_pending_request(client):
    response = client.get(reverse("login_code_verify"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login_code_request")


def test_the_request_page_is_labelled_and_keeps_a_safe_next(client, user, django_capture_on_commit_callbacks):
    page = client.get(reverse("login_code_request") + "?next=/mot-de-passe/").content.decode()
    assert 'for="id_login"' in page
    assert 'name="next" value="/mot-de-passe/"' in page
    assert (
        'value="https://ailleurs.example"'
        not in client.get(reverse("login_code_request") + "?next=https://ailleurs.example").content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("login_code_request"), {"login": "jdupont", "next": "/mot-de-passe/"})
    response = type_code(client, code_from(mail.outbox[0]))
    assert response["Location"] == "/mot-de-passe/"
