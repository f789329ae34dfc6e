"""The notice e-mailed before a password expires, under a policy with a maximum age."""

import datetime

import pytest
from django.core import mail

from accounts import jobs
from accounts.models import User
from portal.audit.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.accounts.helpers import sent_to, use_preset
from tests.jobs.helpers import PARIS, runs

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)
# In the morning, when beat sends the notices.
NOW = datetime.datetime(2026, 3, 10, 8, 0, tzinfo=PARIS)
CHANGE_URL = "http://127.0.0.1:8000/mot-de-passe/"


@pytest.fixture(autouse=True)
def _policy(settings):
    use_preset(settings, "anru")  # passwords live 90 days
    settings.PORTAL_PASSWORD_EXPIRY_NOTICE_DAYS = 14
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8000"


def password_set(user, at: datetime.datetime) -> User:
    User.objects.filter(pk=user.pk).update(password_changed_at=at)
    user.refresh_from_db()
    return user


def run(now, django_capture_on_commit_callbacks) -> int:
    with django_capture_on_commit_callbacks(execute=True):
        return jobs.notify_password_expiry(now=now)


def notices(user) -> list:
    return [message for message in sent_to(user.email) if "expire" in message.subject]


def test_users_are_told_once_when_their_password_expires_within_the_notice(
    django_capture_on_commit_callbacks,
):
    # Expires on 24 March 2026 at 11:30, Paris time: 14 days and 3 h 30 after NOW.
    due = password_set(
        UserFactory(first_name="Camille", last_name="Martin"), NOW - 76 * DAY + datetime.timedelta(hours=3.5)
    )
    in_fifteen_days = password_set(UserFactory(), NOW - 75 * DAY)
    expired = password_set(UserFactory(), NOW - 91 * DAY)
    inactive = password_set(UserFactory(is_active=False), NOW - 80 * DAY)
    no_password = UserFactory()
    no_password.set_unusable_password()
    no_password.save(update_fields=["password"])
    password_set(no_password, NOW - 80 * DAY)

    assert run(NOW, django_capture_on_commit_callbacks) == 0  # 14 days and 3 h 30: not yet
    later = NOW + datetime.timedelta(hours=4)
    assert run(later, django_capture_on_commit_callbacks) == 1

    [message] = notices(due)
    assert message.subject == "Votre mot de passe expire bientôt — Portail des partenaires"
    assert "Bonjour Camille Martin," in message.body
    assert f"Le mot de passe du compte {due.identifiant} expire le 24 mars 2026 à 11:30." in message.body
    assert CHANGE_URL in message.body
    assert "http://127.0.0.1:8000/mot-de-passe-oublie/" in message.body
    html = message.alternatives[0][0]
    assert f'href="{CHANGE_URL}"' in html
    assert "24 mars 2026" in html
    for user in (in_fifteen_days, expired, inactive, no_password):
        assert notices(user) == []

    # Later runs do not repeat it, until the day it expires.
    assert run(later, django_capture_on_commit_callbacks) == 0
    assert run(NOW + 10 * DAY, django_capture_on_commit_callbacks) == 1  # the next one's turn
    assert len(notices(due)) == 1
    assert len(notices(in_fifteen_days)) == 1
    assert run(NOW + 14 * DAY, django_capture_on_commit_callbacks) == 0
    assert [entry["notified"] for entry in runs("notify_password_expiry")] == [0, 1, 0, 1, 0]
    assert runs("notify_password_expiry")[1] == {"notified": 1, "max_age_days": 90, "at": later}

    entry = AuditEntry.objects.get(action="password.expiry_notice", target_id=str(due.pk))
    assert entry.details["password_changed_at"] == "2025-12-24T10:30:00+00:00"


def test_a_new_password_gets_its_own_notice(django_capture_on_commit_callbacks):
    user = password_set(UserFactory(), NOW - 80 * DAY)
    assert run(NOW, django_capture_on_commit_callbacks) == 1

    # A new password, which in turn nears its end 90 days later.
    password_set(user, NOW + DAY)
    assert run(NOW + 2 * DAY, django_capture_on_commit_callbacks) == 0
    assert run(NOW + 80 * DAY, django_capture_on_commit_callbacks) == 1
    assert run(NOW + 81 * DAY, django_capture_on_commit_callbacks) == 0
    assert len(notices(user)) == 2
    assert AuditEntry.objects.filter(action="password.expiry_notice", target_id=str(user.pk)).count() == 2


def test_a_rehash_at_login_is_not_a_new_password(django_capture_on_commit_callbacks):
    user = password_set(UserFactory(), NOW - 80 * DAY)
    assert run(NOW, django_capture_on_commit_callbacks) == 1
    user.check_password("Mot-de-passe-solide-2026")
    user.save()

    assert run(NOW + DAY, django_capture_on_commit_callbacks) == 0


def test_without_a_maximum_age_nobody_is_told(settings, django_capture_on_commit_callbacks):
    use_preset(settings, "default")
    password_set(UserFactory(), NOW - 3650 * DAY)

    assert run(NOW, django_capture_on_commit_callbacks) == 0
    assert mail.outbox == []
    assert runs("notify_password_expiry") == [{"notified": 0, "max_age_days": None, "at": NOW}]


def test_the_notice_period_is_a_setting(settings, django_capture_on_commit_callbacks):
    settings.PORTAL_PASSWORD_EXPIRY_NOTICE_DAYS = 3
    user = password_set(UserFactory(), NOW - 86 * DAY)  # expires in 4 days
    assert run(NOW, django_capture_on_commit_callbacks) == 0
    assert run(NOW + DAY, django_capture_on_commit_callbacks) == 1
    assert len(notices(user)) == 1
