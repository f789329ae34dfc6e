"""Accounts nobody ever used are deleted after their retention period, with their registrations."""

import datetime
import json

import pytest
from django.db.models import ProtectedError

from accounts import jobs
from accounts.models import User
from organisations.enums import AdminClaimStatus, MembershipStatus
from organisations.models import AdminClaim, Membership
from portal.audit.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.jobs.helpers import NOW, runs
from tests.organisations.factories import MembershipFactory

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)
OLD = NOW - 91 * DAY  # beyond the 90 days of retention


@pytest.fixture(autouse=True)
def _retention(settings):
    settings.PORTAL_UNACTIVATED_ACCOUNT_RETENTION_DAYS = 90


def account(identifiant: str, *, joined=OLD, **fields) -> User:
    """An account as the signup makes it: no password chosen, never logged in."""
    user = UserFactory(identifiant=identifiant, email=f"{identifiant}@mairie-exemple.fr", **fields)
    user.set_unusable_password()  # leaves password_changed_at as the factory's password set it
    User.objects.filter(pk=user.pk).update(
        password=user.password, password_changed_at=None, date_joined=joined
    )
    user.refresh_from_db()
    return user


def registration(user, status=MembershipStatus.PENDING_STAFF, *, created_at=OLD, **fields) -> Membership:
    if status == MembershipStatus.REFUSED:
        fields.setdefault("refusal_reason", "Hors du périmètre de l'opérateur.")
    membership = MembershipFactory(user=user, status=status, **fields)
    Membership.objects.filter(pk=membership.pk).update(created_at=created_at)
    return membership


def claim(membership, status) -> AdminClaim:
    return AdminClaim.objects.create(
        membership=membership,
        legal_unit=membership.legal_unit,
        status=status,
        code_hash="argon2$fictif",
        expires_at=NOW + 10 * DAY if status in (AdminClaimStatus.PENDING, AdminClaimStatus.BLOCKED) else OLD,
    )


def remaining(*identifiants) -> set[str]:
    return set(User.objects.filter(identifiant__in=identifiants).values_list("identifiant", flat=True))


def test_accounts_never_used_are_deleted_with_their_registrations_once():
    # Deleted: never activated, nothing approved, older than the retention period.
    bare = account("sans-inscription")
    refused = account("refusee")
    refused_membership = registration(refused, MembershipStatus.REFUSED)
    waiting = account("en-attente")
    registration(waiting, MembershipStatus.PENDING_STAFF)
    registration(waiting, MembershipStatus.DETACHED)
    lapsed = account("expiree")
    claim(registration(lapsed, MembershipStatus.LAPSED), AdminClaimStatus.LAPSED)
    # Kept.
    approved = account("validee")
    registration(approved, MembershipStatus.APPROVED)
    mixed = account("une-validee")
    registration(mixed, MembershipStatus.REFUSED)
    registration(mixed, MembershipStatus.APPROVED)
    account("agent", is_staff=True)
    logged_in = account("connectee")
    User.objects.filter(pk=logged_in.pk).update(last_login=NOW - 30 * DAY)
    with_password = UserFactory(identifiant="mot-de-passe")
    User.objects.filter(pk=with_password.pk).update(date_joined=OLD)
    account("recente", joined=NOW - 89 * DAY)
    renewed = account("nouvelle-inscription")
    registration(renewed, MembershipStatus.LAPSED)
    registration(renewed, MembershipStatus.PENDING_STAFF, created_at=NOW - 10 * DAY)
    kept = {"validee", "une-validee", "agent", "connectee", "mot-de-passe", "recente", "nouvelle-inscription"}
    everyone = {"sans-inscription", "refusee", "en-attente", "expiree"} | kept

    result = jobs.purge_unactivated_accounts(now=NOW)

    assert result == jobs.AccountPurge(deleted=4, open_claim=0, protected=0)
    assert remaining(*everyone) == kept
    assert not Membership.objects.filter(user_id__in=[bare.pk, refused.pk, waiting.pk, lapsed.pk]).exists()
    assert not Membership.objects.filter(pk=refused_membership.pk).exists()
    assert not AdminClaim.objects.filter(membership__user_id=lapsed.pk).exists()
    assert Membership.objects.filter(user__identifiant__in=kept).count() == 5

    purged = AuditEntry.objects.filter(action="account.purged").order_by("pk")
    assert [entry.details for entry in purged] == [
        {"identifiant": name, "email_domain": "mairie-exemple.fr"}
        for name in ("sans-inscription", "refusee", "en-attente", "expiree")
    ]
    # Neither the address nor the name survive in the entries of the purge.
    written = json.dumps([[e.details, e.target_label, e.actor_label] for e in purged])
    assert "@" not in written
    assert "Martin" not in written

    assert jobs.purge_unactivated_accounts(now=NOW) == jobs.AccountPurge(deleted=0, open_claim=0, protected=0)
    assert runs("purge_unactivated_accounts") == [
        {"deleted": 4, "open_claim": 0, "protected": 0, "at": NOW},
        {"deleted": 0, "open_claim": 0, "protected": 0, "at": NOW},
    ]


def test_the_retention_counts_from_the_account_creation():
    account("89-jours", joined=NOW - 89 * DAY)
    account("90-jours-et-une-seconde", joined=NOW - 90 * DAY - datetime.timedelta(seconds=1))

    assert jobs.purge_unactivated_accounts(now=NOW).deleted == 1
    assert remaining("89-jours", "90-jours-et-une-seconde") == {"89-jours"}
    assert jobs.purge_unactivated_accounts(now=NOW + 2 * DAY).deleted == 1
    assert runs("purge_unactivated_accounts")[-1]["at"] == NOW + 2 * DAY


@pytest.mark.parametrize("status", [AdminClaimStatus.PENDING, AdminClaimStatus.BLOCKED])
def test_an_account_whose_admin_claim_is_open_is_kept(status):
    user = account("demandeuse")
    claim(registration(user, MembershipStatus.PENDING_ACTIVATION), status)

    assert jobs.purge_unactivated_accounts(now=NOW) == jobs.AccountPurge(deleted=0, open_claim=1, protected=0)
    assert remaining("demandeuse") == {"demandeuse"}
    assert AdminClaim.objects.get(membership__user=user).status == status
    assert not AuditEntry.objects.filter(action="account.purged").exists()


def test_an_account_something_protects_is_skipped_and_counted(monkeypatch):
    protected = account("protegee")
    account("libre")
    delete = User.delete

    def delete_unless_protected(self, *args, **kwargs):
        if self.pk == protected.pk:
            raise ProtectedError("Référencé par une ligne protégée.", {protected})
        return delete(self, *args, **kwargs)

    monkeypatch.setattr(User, "delete", delete_unless_protected)

    assert jobs.purge_unactivated_accounts(now=NOW) == jobs.AccountPurge(deleted=1, open_claim=0, protected=1)
    assert remaining("protegee", "libre") == {"protegee"}
    assert [e.details["identifiant"] for e in AuditEntry.objects.filter(action="account.purged")] == ["libre"]
    assert runs("purge_unactivated_accounts") == [{"deleted": 1, "open_claim": 0, "protected": 1, "at": NOW}]


def test_an_account_that_logged_in_with_a_code_is_kept():
    user = account("code-par-courriel")
    registration(user, MembershipStatus.PENDING_STAFF)
    # A login by e-mailed code sets last_login without any password.
    User.objects.filter(pk=user.pk).update(last_login=NOW - 100 * DAY)

    assert jobs.purge_unactivated_accounts(now=NOW).deleted == 0
    assert remaining("code-par-courriel") == {"code-par-courriel"}
