import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.urls import reverse

from accounts.models import User
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "Mot-de-passe-solide-2026"


def test_identifiants_are_unique_without_regard_to_case_in_the_database():
    UserFactory(identifiant="JDupont")
    with pytest.raises(IntegrityError):
        User.objects.create(identifiant="jdupont", email="autre@example.fr")


def test_the_duplicate_identifiant_gets_a_french_message():
    UserFactory(identifiant="JDupont")
    duplicate = User(identifiant="jdupont", email="autre@example.fr")
    with pytest.raises(ValidationError) as error:
        duplicate.full_clean(exclude=["password"])
    assert "Cet identifiant est déjà pris." in str(error.value)


def test_identifiants_refuse_spaces_and_accents():
    with pytest.raises(ValidationError):
        User(identifiant="jé dupont", email="x@example.fr").full_clean(exclude=["password"])


def test_the_user_carries_identity_and_phones():
    user = UserFactory(
        civilite="m",
        first_name="Jean",
        last_name="Dupont",
        phone_landline="0140000000",
        phone_mobile="0612345678",
    )
    user.refresh_from_db()
    assert user.get_civilite_display() == "Monsieur"
    assert str(user) == "Jean Dupont"
    assert (user.phone_landline, user.phone_mobile) == ("0140000000", "0612345678")


def test_passwords_are_stored_as_argon2_hashes():
    user = UserFactory()
    assert user.password.startswith("argon2$argon2id$")
    assert PASSWORD not in user.password


@pytest.mark.parametrize(
    "login",
    ["jdupont", "JDUPONT", "jean.dupont@mairie-exemple.fr", "Jean.Dupont@Mairie-Exemple.fr"],
)
def test_login_by_identifiant_or_email_without_regard_to_case(client, login):
    UserFactory(identifiant="jdupont", email="jean.dupont@mairie-exemple.fr")
    response = client.post(reverse("login"), {"username": login, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").context["user"].identifiant == "jdupont"


def test_a_wrong_password_and_an_unknown_account_get_the_same_answer(client):
    UserFactory(identifiant="jdupont")
    wrong = client.post(reverse("login"), {"username": "jdupont", "password": "pas-le-bon"})
    unknown = client.post(reverse("login"), {"username": "personne", "password": "pas-le-bon"})
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert "Identifiant, adresse électronique ou mot de passe incorrect." in response.content.decode()
    assert client.get("/").context["user"].is_anonymous


def test_an_inactive_account_cannot_log_in(client):
    UserFactory(identifiant="jdupont", is_active=False)
    response = client.post(reverse("login"), {"username": "jdupont", "password": PASSWORD})
    assert response.status_code == 200
    assert client.get("/").context["user"].is_anonymous


def test_createsuperuser_uses_the_identifiant(monkeypatch):
    from django.core.management import call_command

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", "--noinput", identifiant="Admin", email="admin@example.fr", verbosity=0)
    admin = User.objects.get_by_natural_key("admin")
    assert admin.is_staff
    assert admin.is_superuser
