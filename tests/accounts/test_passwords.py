import datetime

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.password_validation import validate_password
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import PasswordHistory
from accounts.passwords import (
    character_classes,
    password_hints,
    password_is_expired,
    password_validators,
    set_password_with_history,
)
from portal.audit.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.accounts.helpers import PASSWORD, use_preset

pytestmark = pytest.mark.django_db


def refusal(password, user=None) -> str:
    """The French messages refusing a password, or "" if it is accepted."""
    try:
        validate_password(password, user)
    except ValidationError as error:
        return " ".join(error.messages)
    return ""


@pytest.mark.parametrize(
    ("preset", "password", "message"),
    [
        # ANRU: at least 9 characters with a digit, an upper and a lower case letter.
        ("anru", "Rivage-du-nord7", ""),
        ("anru", "Rivage7nord", ""),
        ("anru", "Court7Ab", "trop court : il doit contenir au moins 9 caractères"),
        ("anru", "rivage-du-nord7", "au moins une lettre majuscule"),
        ("anru", "RIVAGE-DU-NORD7", "au moins une lettre minuscule"),
        ("anru", "Rivage-du-nord", "au moins un chiffre"),
        # Banque des Territoires: at least 8 characters from 3 of the 4 classes.
        ("bdt", "rivage7!", ""),
        ("bdt", "Rivage77", ""),
        ("bdt", "rivage77", "au moins 3 types de caractères parmi les quatre"),
        ("bdt", "Riv7!", "trop court : il doit contenir au moins 8 caractères"),
        # Default (NIST, CNIL): at least 12 characters, no composition rule, common ones refused.
        ("default", "cheval agrafe pile", ""),
        ("default", "chevalagrafepile", ""),
        ("default", "cheval-court", ""),
        ("default", "cheval-cour", "au moins 12 caractères"),
        ("default", "password1234", "fait partie des plus utilisés"),
        ("default", "482915736024", "ne contient que des chiffres"),
    ],
)
def test_each_presets_policy_accepts_and_refuses_in_french(settings, preset, password, message):
    use_preset(settings, preset)
    result = refusal(password)
    if message:
        assert message in result
    else:
        assert result == ""


def test_common_passwords_are_accepted_where_the_preset_does_not_refuse_them(settings):
    use_preset(settings, "anru")
    assert refusal("Password1234") == ""  # in the common list, but ANRU's charter does not say so
    use_preset(settings, "default")
    assert "fait partie des plus utilisés" in refusal("Password1234")


def test_the_settings_build_the_validators_from_the_policy():
    assert (
        password_validators(django_settings.PORTAL_PASSWORD_POLICY)
        == django_settings.AUTH_PASSWORD_VALIDATORS
    )


def test_a_password_like_the_identifiant_or_the_name_is_refused(settings):
    use_preset(settings, "bdt")
    user = UserFactory(identifiant="jdupont75", first_name="Jeanne", last_name="Dupont-Lajoie")
    assert "ressemble trop à votre identifiant" in refusal("Jdupont75!", user)
    assert "ressemble trop à votre nom" in refusal("Dupont-Lajoie1", user)
    assert refusal("Rivage7!nord", user) == ""


@pytest.mark.parametrize(
    ("preset", "texts"),
    [
        ("anru", ["Au moins 9 caractères.", "Au moins un chiffre.", "Au moins une lettre majuscule."]),
        ("bdt", ["Au moins 8 caractères.", "Au moins 3 types de caractères", "Différent de vos 5 derniers"]),
        ("default", ["Au moins 12 caractères.", "Pas un mot de passe courant"]),
    ],
)
def test_the_rules_are_listed_in_french_with_what_the_script_checks(settings, preset, texts):
    use_preset(settings, preset)
    hints = password_hints()
    listed = " ".join(hint.text for hint in hints)
    for text in texts:
        assert text in listed
    assert any(hint.rule == "length" for hint in hints)


def test_character_classes_follow_unicode_categories():
    assert character_classes("é") == {"lower"}
    assert character_classes("É7 !") == {"upper", "digit", "symbol"}


# History --------------------------------------------------------------------------------------------


def test_bdt_refuses_the_last_five_passwords_and_keeps_only_five_hashes(settings):
    use_preset(settings, "bdt")
    user = UserFactory()
    passwords = [f"Rivage-{n}-nord" for n in range(7)]
    for password in passwords[:6]:
        set_password_with_history(user, password)
    # The last five (passwords 1 to 5) are refused, the current one included; the first is free.
    for password in passwords[1:6]:
        assert "déjà utilisé ce mot de passe" in refusal(password, user)
    assert refusal(passwords[0], user) == ""
    assert refusal(passwords[6], user) == ""
    assert PasswordHistory.objects.filter(user=user).count() == 5
    assert not PasswordHistory.objects.filter(password__contains="Rivage").exists()


def test_the_reset_page_refuses_a_recent_password_for_bdt(
    settings, client, django_capture_on_commit_callbacks
):
    use_preset(settings, "bdt")
    user = UserFactory(email="jeanne@mairie-exemple.fr")
    set_password_with_history(user, "Ancien-mdp-7")
    set_password_with_history(user, "Actuel-mdp-7")
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {"old_password": "Actuel-mdp-7", "new_password1": "Ancien-mdp-7", "new_password2": "Ancien-mdp-7"},
    )
    assert response.status_code == 200
    assert "Vous avez déjà utilisé ce mot de passe" in response.content.decode()


def test_without_a_history_rule_no_old_hash_is_kept(settings):
    use_preset(settings, "default")
    user = UserFactory()
    set_password_with_history(user, "cheval agrafe pile")
    assert not PasswordHistory.objects.filter(user=user).exists()


# Dates and expiry -----------------------------------------------------------------------------------


def test_setting_a_password_dates_it_and_checking_it_does_not():
    user = UserFactory()
    assert user.password_changed_at is not None
    long_ago = timezone.now() - datetime.timedelta(days=40)
    user.password_changed_at = long_ago
    user.save()
    assert user.check_password(PASSWORD)
    assert user.password_changed_at == long_ago
    set_password_with_history(user, "Rivage-du-nord7")
    user.refresh_from_db()
    assert user.password_changed_at > long_ago


def test_anru_passwords_expire_after_three_months(settings):
    use_preset(settings, "anru")
    user = UserFactory()
    assert not password_is_expired(user)
    user.password_changed_at = timezone.now() - datetime.timedelta(days=91)
    assert password_is_expired(user)
    use_preset(settings, "bdt")
    assert not password_is_expired(user)


def _expired_user(**kwargs):
    user = UserFactory(**kwargs)
    user.password_changed_at = timezone.now() - datetime.timedelta(days=91)
    user.save(update_fields=["password_changed_at"])
    return user


def test_an_expired_password_forces_a_change_at_login(settings, client, django_capture_on_commit_callbacks):
    use_preset(settings, "anru")
    user = _expired_user(identifiant="jdupont", email="jeanne@mairie-exemple.fr")
    response = client.post(reverse("login"), {"username": "jdupont", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("password_change"))
    page = response.content.decode()
    assert "Votre mot de passe a expiré" in page
    assert "tous les 90 jours" in page
    # Every other page leads back there; logging out and the static files do not.
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("password_change") + "?next=%2F"
    static = client.get("/static/accounts/password-hints.js")
    assert static.status_code == 200
    assert b"data-password-hints" in b"".join(static.streaming_content)  # read, and so closed
    assert client.get(reverse("password_reset")).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("password_change"),
            {
                "old_password": PASSWORD,
                "new_password1": "Rivage-du-nord7",
                "new_password2": "Rivage-du-nord7",
                "next": "/",
            },
        )
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get(reverse("home")).status_code == 200  # still logged in, free to go
    user.refresh_from_db()
    assert not password_is_expired(user)
    entry = AuditEntry.objects.get(action="password.changed")
    assert entry.actor == user
    assert entry.details == {"expired": True}
    assert [message.subject for message in mail.outbox] == [
        "Votre mot de passe a été changé — Portail des partenaires"
    ]


def test_logging_out_is_possible_with_an_expired_password(settings, client):
    use_preset(settings, "anru")
    client.force_login(_expired_user())
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200


def test_no_expiry_without_a_maximum_age(settings, client):
    use_preset(settings, "default")
    client.force_login(_expired_user())
    assert client.get(reverse("home")).status_code == 200


# The change page ------------------------------------------------------------------------------------


def test_the_change_page_lists_the_rules_labels_the_fields_and_needs_no_inline_script(settings, client):
    use_preset(settings, "anru")
    client.force_login(UserFactory())
    page = client.get(reverse("password_change")).content.decode()
    for field in ("old_password", "new_password1", "new_password2"):
        assert f'for="id_{field}"' in page
    assert 'data-password-hints="id_new_password1-hints"' in page
    assert 'aria-describedby="id_new_password1-hints"' in page
    assert 'data-rule="length" data-value="9"' in page
    assert 'data-rule="class" data-value="upper"' in page
    assert "Au moins une lettre majuscule." in page
    assert '<script src="/static/accounts/password-hints.js" defer></script>' in page
    assert "<script>" not in page


def test_a_wrong_current_password_is_said_in_french_and_linked_from_the_summary(client):
    client.force_login(UserFactory())
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "pas-le-bon",
            "new_password1": "cheval agrafe pile",
            "new_password2": "cheval agrafe pile",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Votre mot de passe actuel est incorrect." in page
    assert 'href="#id_old_password"' in page
    assert 'aria-invalid="true"' in page


def test_mismatched_new_passwords_are_said_in_french(client):
    client.force_login(UserFactory())
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "cheval agrafe pile",
            "new_password2": "cheval agrafe pipe",
        },
    )
    assert "Les deux mots de passe saisis sont différents." in response.content.decode()


def test_the_change_page_needs_a_login(client):
    response = client.get(reverse("password_change"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
