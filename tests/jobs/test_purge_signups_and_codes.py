"""Purges of the wizard's answers (PendingSignup) and of the e-mailed login codes (LoginCode)."""

import datetime

import pytest

from accounts import jobs
from accounts.models import LoginCode, PendingSignup, User
from organisations.models import Membership
from tests.accounts.factories import UserFactory
from tests.jobs.helpers import NOW, runs
from tests.organisations.factories import MembershipFactory

pytestmark = pytest.mark.django_db
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def _retention(settings):
    settings.PORTAL_PENDING_SIGNUP_HOURS = 24
    settings.PORTAL_PENDING_SIGNUP_RETENTION_DAYS = 30


def pending_signup(email: str, *, created_at, completed_at=None) -> PendingSignup:
    pending = PendingSignup.objects.create(
        email=email,
        data={"email": email, "first_name": "Camille", "last_name": "Martin"},
        code_hash="x" * 64,
        code_expires_at=created_at + datetime.timedelta(minutes=10),
    )
    # created_at is auto_now_add: dated afterwards.
    PendingSignup.objects.filter(pk=pending.pk).update(created_at=created_at, completed_at=completed_at)
    return pending


def remaining_signups() -> set[str]:
    return set(PendingSignup.objects.values_list("email", flat=True))


def test_abandoned_and_old_confirmed_signups_are_deleted_once():
    pending_signup("abandonnee@mairie.fr", created_at=NOW - 24 * HOUR - datetime.timedelta(seconds=1))
    pending_signup("en-cours@mairie.fr", created_at=NOW - 24 * HOUR)  # its code page still answers
    pending_signup("recente@mairie.fr", created_at=NOW - HOUR)
    pending_signup(
        "confirmee-ancienne@mairie.fr", created_at=NOW - 31 * DAY - HOUR, completed_at=NOW - 31 * DAY
    )
    pending_signup(
        "confirmee-recente@mairie.fr", created_at=NOW - 29 * DAY - HOUR, completed_at=NOW - 29 * DAY
    )
    membership = MembershipFactory()

    assert jobs.purge_pending_signups(now=NOW) == jobs.SignupPurge(abandoned=1, completed=1)
    assert remaining_signups() == {"en-cours@mairie.fr", "recente@mairie.fr", "confirmee-recente@mairie.fr"}
    # The registrations themselves are not the signups': untouched.
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert User.objects.filter(pk=membership.user_id).exists()

    assert jobs.purge_pending_signups(now=NOW) == jobs.SignupPurge(abandoned=0, completed=0)
    assert runs("purge_pending_signups") == [
        {"abandoned": 1, "completed": 1, "at": NOW},
        {"abandoned": 0, "completed": 0, "at": NOW},
    ]

    # A day later, the one still waiting then is abandoned, the recent ones are not yet due.
    later = NOW + DAY
    assert jobs.purge_pending_signups(now=later) == jobs.SignupPurge(abandoned=2, completed=0)
    assert remaining_signups() == {"confirmee-recente@mairie.fr"}
    assert runs("purge_pending_signups")[-1] == {"abandoned": 2, "completed": 0, "at": later}


def test_the_retention_periods_are_settings(settings):
    settings.PORTAL_PENDING_SIGNUP_HOURS = 2
    settings.PORTAL_PENDING_SIGNUP_RETENTION_DAYS = 7
    pending_signup("trois-heures@mairie.fr", created_at=NOW - 3 * HOUR)
    pending_signup("confirmee@mairie.fr", created_at=NOW - 8 * DAY - HOUR, completed_at=NOW - 8 * DAY)

    assert jobs.purge_pending_signups(now=NOW) == jobs.SignupPurge(abandoned=1, completed=1)
    assert remaining_signups() == set()


def test_signups_are_deleted_in_batches(monkeypatch):
    monkeypatch.setattr(jobs, "BATCH_SIZE", 2)
    for number in range(5):
        pending_signup(f"abandon{number}@mairie.fr", created_at=NOW - 2 * DAY)
    pending_signup("recente@mairie.fr", created_at=NOW - HOUR)

    assert jobs.purge_pending_signups(now=NOW).abandoned == 5
    assert remaining_signups() == {"recente@mairie.fr"}


# Login codes -------------------------------------------------------------------------------------


def login_code(user, *, created_at, used_at=None) -> LoginCode:
    return LoginCode.objects.create(
        user=user,
        code_hash="0" * 64,
        salt="s" * 32,
        created_at=created_at,
        expires_at=created_at + datetime.timedelta(minutes=10),
        used_at=used_at,
    )


def test_login_codes_ended_more_than_a_day_ago_are_deleted_once():
    user = UserFactory()
    expired_long_ago = login_code(user, created_at=NOW - 3 * DAY)
    used_long_ago = login_code(user, created_at=NOW - 2 * DAY, used_at=NOW - 2 * DAY + HOUR / 60)
    expired_yesterday = login_code(user, created_at=NOW - 20 * HOUR)
    used_an_hour_ago = login_code(user, created_at=NOW - HOUR, used_at=NOW - HOUR + HOUR / 60)
    live = login_code(UserFactory(), created_at=NOW - HOUR / 12)
    # Used a day and a minute ago, but (a row made by hand) still "valid" for a while: gone too.
    odd = LoginCode.objects.create(
        user=user,
        code_hash="0" * 64,
        salt="s" * 32,
        created_at=NOW - 2 * DAY,
        expires_at=NOW + HOUR,
        used_at=NOW - DAY - HOUR / 60,
    )

    assert jobs.purge_expired_login_codes(now=NOW) == 3
    assert set(LoginCode.objects.values_list("pk", flat=True)) == {
        expired_yesterday.pk,
        used_an_hour_ago.pk,
        live.pk,
    }
    assert not LoginCode.objects.filter(pk__in=[expired_long_ago.pk, used_long_ago.pk, odd.pk]).exists()
    assert User.objects.filter(pk=user.pk).exists()

    assert jobs.purge_expired_login_codes(now=NOW) == 0
    assert runs("purge_expired_login_codes") == [{"deleted": 3, "at": NOW}, {"deleted": 0, "at": NOW}]
