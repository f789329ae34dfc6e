"""Identité et sécurité (DESIGN §4; reference bdt-espace-personnel-habilitations.txt, "Modification
des informations personnelles"): civilité, prénom and nom changed, identifiant shown, the way to
the password page with the policy's rules."""

import html
import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from mailings.models import Email
from portal.audit.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.accounts.helpers import use_preset

pytestmark = pytest.mark.django_db

IDENTITY_URL = "/espace/identite/"


def page(response) -> str:
    return html.unescape(response.content.decode())


def error_next_to(content: str, field_id: str) -> str:
    """The first error the page shows under a field (DSFR: the field's own error list)."""
    found = re.search(rf'<ul class="errorlist" id="{field_id}_error"><li[^>]*>(.*?)</li>', content, re.DOTALL)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip() if found else ""


def error_summary(content: str) -> str:
    found = re.search(
        r'<div class="fr-alert fr-alert--error[^"]*"[^>]*id="form-errors">(.*?)</div>', content, re.DOTALL
    )
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip() if found else ""


def identity_of(user) -> tuple:
    user.refresh_from_db()
    return (user.civilite, user.first_name, user.last_name, user.identifiant, user.email)


@pytest.fixture
def user():
    return UserFactory(identifiant="cend589", civilite="mme", first_name="Cendrine", last_name="Martin")


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


def test_the_url_and_its_name():
    assert reverse("identity") == IDENTITY_URL


def test_the_page_shows_the_identity_the_identifiant_and_the_password_policy(user_client, user, settings):
    use_preset(settings, "bdt")

    content = page(user_client.get(IDENTITY_URL))

    assert "<h1>Identité et sécurité</h1>" in content
    assert re.search(r'<input type="radio" name="civilite" value="mme"[^>]* checked', content)
    assert 'name="first_name" value="Cendrine"' in content
    assert 'name="last_name" value="Martin"' in content
    assert ">Valider</button>" in content
    assert "<dd>cend589</dd>" in content
    assert 'name="identifiant"' not in content
    assert f"<dd>{user.email}</dd>" in content
    assert f'href="{reverse("password_change")}?next=/espace/identite/"' in content
    assert "Modifier le mot de passe" in content
    # The bdt policy (reference): 8 characters, 3 of the 4 classes, no reuse.
    rules = content.split("Règles du mot de passe")[1]
    assert "Au moins 8 caractères." in rules
    assert "Au moins 3 types de caractères parmi les quatre" in rules
    assert "Différent de vos 5 derniers mots de passe." in rules


def test_changing_the_identity(user_client, user):
    response = user_client.post(
        IDENTITY_URL, {"civilite": "m", "first_name": "  Jean-Noël ", "last_name": "Martin"}, follow=True
    )

    assert identity_of(user)[:3] == ("m", "Jean-Noël", "Martin")
    content = page(response)
    assert "Votre identité est modifiée ; un courriel vous le confirme." in content
    assert 'name="first_name" value="Jean-Noël"' in content
    [email] = Email.objects.filter(to_email=user.email, template="identity_changed")
    assert email.subject.startswith("Votre identité a été modifiée")
    assert "L'identité du compte cend589 a été modifiée le" in email.body_text
    assert "- Civilité : Monsieur (auparavant : Madame)" in email.body_text
    assert "- Prénom : Jean-Noël (auparavant : Cendrine)" in email.body_text
    assert "Nom :" not in email.body_text.replace("Prénom :", "")
    entry = AuditEntry.objects.get(action="account.identity_changed")
    assert (entry.actor, entry.target_id) == (user, str(user.pk))
    assert entry.details == {
        "civilite": {"old": "mme", "new": "m"},
        "first_name": {"old": "Cendrine", "new": "Jean-Noël"},
    }


def test_the_e_mail_reaches_the_user(user, client, django_capture_on_commit_callbacks):
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(IDENTITY_URL, {"civilite": "mme", "first_name": "Cendrine", "last_name": "Martin-Dupont"})
    [message] = mail.outbox
    assert message.to == [user.email]
    assert "Nom : Martin-Dupont (auparavant : Martin)" in message.body
    assert "Martin-Dupont" in message.alternatives[0][0]


def test_the_same_identity_changes_nothing(user_client, user):
    before = identity_of(user)
    response = user_client.post(
        IDENTITY_URL, {"civilite": "mme", "first_name": "Cendrine", "last_name": "Martin"}, follow=True
    )
    assert "Aucun changement : votre identité reste la même." in page(response)
    assert identity_of(user) == before
    assert not Email.objects.exists()
    assert not AuditEntry.objects.filter(action="account.identity_changed").exists()


def test_the_identifiant_and_the_address_are_not_editable_here(user_client, user):
    user_client.post(
        IDENTITY_URL,
        {
            "civilite": "mme",
            "first_name": "Cendrine",
            "last_name": "Durand",
            "identifiant": "autre",
            "email": "autre@ailleurs.fr",
        },
    )
    assert identity_of(user) == ("mme", "Cendrine", "Durand", "cend589", user.email)
    assert user.email != "autre@ailleurs.fr"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_name", "", "Saisissez votre prénom."),
        ("first_name", "   ", "Saisissez votre prénom."),
        ("last_name", "\t ", "Saisissez votre nom."),
        ("civilite", "", "Indiquez votre civilité."),
        ("civilite", "mlle", "Sélectionnez un choix valide."),
        ("first_name", "Cendrine\x07", "Ce champ contient des caractères non autorisés."),
        ("last_name", "Martin\x1b[31m", "Ce champ contient des caractères non autorisés."),
        ("last_name", "Mar\x7ftin", "Ce champ contient des caractères non autorisés."),
        ("first_name", "Cend\x00rine", ""),
        ("first_name", "x" * 100_000, "au plus 150 caractères"),
        ("last_name", "9" * 100_000, "au plus 150 caractères"),
        ("civilite", "m" * 100_000, "Sélectionnez un choix valide."),
    ],
)
def test_invalid_input_is_shown_next_to_the_field_and_saves_nothing(user_client, user, field, value, message):
    before = identity_of(user)
    data = {"civilite": "m", "first_name": "Jean", "last_name": "Dupont", field: value}

    response = user_client.post(IDENTITY_URL, data)

    assert response.status_code == 200
    content = page(response)
    error = error_next_to(content, f"id_{field}")
    assert error
    assert message in error
    assert error in error_summary(content)
    assert identity_of(user) == before
    assert not Email.objects.exists()
    assert not AuditEntry.objects.filter(action="account.identity_changed").exists()


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    for method in (client.get, client.post):
        response = method(IDENTITY_URL, {"civilite": "m", "first_name": "Jean", "last_name": "Dupont"})
        assert response.status_code == 302
        assert response.url.startswith(f"{reverse('login')}?next={IDENTITY_URL}")
    assert not User.objects.filter(first_name="Jean").exists()


def test_each_user_changes_only_their_own_identity(client, user):
    other = UserFactory(first_name="Pierre", last_name="Durand")
    client.force_login(other)
    client.post(IDENTITY_URL, {"civilite": "m", "first_name": "Paul", "last_name": "Durand"})
    assert identity_of(user)[:3] == ("mme", "Cendrine", "Martin")
    assert identity_of(other)[:3] == ("m", "Paul", "Durand")
