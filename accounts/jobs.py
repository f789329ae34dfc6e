"""Periodic jobs on accounts (Celery beat, accounts/tasks.py): purges after the retention periods
(data protection, DESIGN §8) and the notice before a password expires.

Each job takes ``now`` (tests pass a frozen date), is idempotent (a second run finds nothing left
to do), works in short transactions (one per batch or per account, never one for the whole run),
and leaves one audit entry ``job.<name>`` with its counts.
"""

import datetime
from dataclasses import asdict, dataclass

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import ProtectedError, Q, QuerySet, RestrictedError
from django.urls import reverse
from django.utils import timezone

from accounts.access import absolute_url
from accounts.models import LoginCode, PendingSignup, User
from accounts.passwords import password_expires_at
from mailings.services import queue_email
from organisations.enums import OPEN_CLAIM_STATUSES, MembershipStatus
from organisations.models import AdminClaim
from portal import audit
from portal.audit.models import AuditEntry

BATCH_SIZE = 500
# A login code is kept a day after it ends: enough to answer "did I receive a code yesterday?".
LOGIN_CODE_KEPT = datetime.timedelta(days=1)
EXPIRY_NOTICE_ACTION = "password.expiry_notice"


def _delete_in_batches(queryset: QuerySet) -> int:
    """Delete what ``queryset`` selects, BATCH_SIZE rows per transaction; return how many rows.

    Each batch deletes only the rows still matching the query, so that a row changed meanwhile
    (a signup completed at that instant) is left alone.
    """
    deleted = 0
    while True:
        with transaction.atomic():
            batch = list(queryset.order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE])
            if not batch:
                return deleted
            _, per_model = queryset.filter(pk__in=batch).delete()
            deleted += per_model.get(queryset.model._meta.label, 0)


# Signups and login codes -------------------------------------------------------------------------


@dataclass(frozen=True)
class SignupPurge:
    abandoned: int  # never confirmed: the code was not typed within PORTAL_PENDING_SIGNUP_HOURS
    completed: int  # confirmed more than PORTAL_PENDING_SIGNUP_RETENTION_DAYS ago


def purge_pending_signups(*, now=None) -> SignupPurge:
    """Delete the wizard's answers once they serve no purpose (they are personal data).

    An unconfirmed signup is dead after PORTAL_PENDING_SIGNUP_HOURS (its code page answers 404
    from then on, accounts/signup_views.py); a confirmed one is only kept for its result page,
    PORTAL_PENDING_SIGNUP_RETENTION_DAYS days after its confirmation. The registration itself
    (user, membership) is not touched.
    """
    now = now or timezone.now()
    abandoned = _delete_in_batches(
        PendingSignup.objects.filter(
            completed_at__isnull=True,
            created_at__lt=now - datetime.timedelta(hours=settings.PORTAL_PENDING_SIGNUP_HOURS),
        )
    )
    completed = _delete_in_batches(
        PendingSignup.objects.filter(
            completed_at__lt=now - datetime.timedelta(days=settings.PORTAL_PENDING_SIGNUP_RETENTION_DAYS)
        )
    )
    result = SignupPurge(abandoned=abandoned, completed=completed)
    audit.record("job.purge_pending_signups", details={**asdict(result), "at": now})
    return result


def purge_expired_login_codes(*, now=None) -> int:
    """Delete the e-mailed login codes that ended (expired or used) more than a day ago."""
    now = now or timezone.now()
    cutoff = now - LOGIN_CODE_KEPT
    deleted = _delete_in_batches(LoginCode.objects.filter(Q(expires_at__lt=cutoff) | Q(used_at__lt=cutoff)))
    audit.record("job.purge_expired_login_codes", details={"deleted": deleted, "at": now})
    return deleted


# Accounts never activated ------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountPurge:
    deleted: int
    open_claim: int  # kept: an admin claim of theirs still waits for its letter's code
    protected: int  # kept: a row that must outlive them refers to them (on_delete PROTECT/RESTRICT)


def unactivated_accounts(*, now: datetime.datetime) -> QuerySet:
    """Accounts nobody ever used, older than PORTAL_UNACTIVATED_ACCOUNT_RETENTION_DAYS.

    Never used: no password ever chosen, never logged in (by password or e-mailed code). Not an
    agent of the operator. No registration approved, and none made within the retention period
    (an account created long ago that registers in a new organisation starts afresh).
    """
    cutoff = now - datetime.timedelta(days=settings.PORTAL_UNACTIVATED_ACCOUNT_RETENTION_DAYS)
    return (
        User.objects.filter(
            is_staff=False,
            is_superuser=False,
            last_login__isnull=True,
            password_changed_at__isnull=True,
            password__startswith=UNUSABLE_PASSWORD_PREFIX,
            date_joined__lt=cutoff,
        )
        .exclude(memberships__status=MembershipStatus.APPROVED)
        .exclude(memberships__created_at__gte=cutoff)
    )


def _has_open_claim(user_id: int) -> bool:
    return AdminClaim.objects.filter(membership__user_id=user_id, status__in=OPEN_CLAIM_STATUSES).exists()


def _email_domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def purge_unactivated_accounts(*, now=None) -> AccountPurge:
    """Delete the accounts never activated after their retention period (data protection), with
    their registrations (cascade). Each deletion is audited with the identifiant and the domain of
    the address only: the log must not keep what the purge removes.

    Kept: accounts with an open admin claim (the letter's code may still arrive) and accounts that
    a protected row refers to. Each account is re-checked under its row lock, in its own
    transaction: a login or a registration at the same instant wins.
    """
    now = now or timezone.now()
    deleted = open_claim = protected = 0
    for user_id in list(unactivated_accounts(now=now).order_by("pk").values_list("pk", flat=True)):
        with transaction.atomic():
            user = User.objects.select_for_update().filter(pk=user_id).first()
            # A new query after the lock: what committed while we waited counts.
            if user is None or not unactivated_accounts(now=now).filter(pk=user_id).exists():
                continue
            if _has_open_claim(user_id):
                open_claim += 1
                continue
            details = {"identifiant": user.identifiant, "email_domain": _email_domain(user.email)}
            try:
                with transaction.atomic():
                    user.delete()
            except (ProtectedError, RestrictedError):
                protected += 1
                continue
            audit.record("account.purged", details=details)
            deleted += 1
    result = AccountPurge(deleted=deleted, open_claim=open_claim, protected=protected)
    audit.record("job.purge_unactivated_accounts", details={**asdict(result), "at": now})
    return result


# Password expiry notice --------------------------------------------------------------------------


def _password_stamp(user) -> str:
    """Which password a notice was sent for: the instant it was set, in UTC, to the microsecond."""
    return user.password_changed_at.astimezone(datetime.UTC).isoformat()


def _notice_sent(user) -> bool:
    return AuditEntry.objects.filter(
        action=EXPIRY_NOTICE_ACTION,
        target_type=ContentType.objects.get_for_model(User),
        target_id=str(user.pk),
        details__password_changed_at=_password_stamp(user),
    ).exists()


def notify_password_expiry(*, now=None) -> int:
    """E-mail the users whose password expires within PORTAL_PASSWORD_EXPIRY_NOTICE_DAYS days,
    once per password, when the policy gives passwords a maximum age (max_age_days).

    The notice is remembered as an audit entry ``password.expiry_notice`` naming the password by
    the instant it was set: a new password gets its own notice in due time. A password already
    expired gets none (the next login asks for a new one, accounts/middleware.py).
    """
    now = now or timezone.now()
    max_age_days = settings.PORTAL_PASSWORD_POLICY.get("max_age_days")
    notified = 0
    if max_age_days:
        max_age = datetime.timedelta(days=max_age_days)
        notice = datetime.timedelta(days=settings.PORTAL_PASSWORD_EXPIRY_NOTICE_DAYS)
        due = (
            User.objects.filter(
                is_active=True,
                password_changed_at__gt=now - max_age,
                password_changed_at__lte=now - max_age + notice,
            )
            .exclude(password__startswith=UNUSABLE_PASSWORD_PREFIX)
            .order_by("pk")
        )
        for user_id in list(due.values_list("pk", flat=True)):
            with transaction.atomic():
                user = due.select_for_update().filter(pk=user_id).first()
                if user is None or _notice_sent(user):
                    continue
                _send_expiry_notice(user)
                notified += 1
    audit.record(
        "job.notify_password_expiry",
        details={"notified": notified, "max_age_days": max_age_days, "at": now},
    )
    return notified


def _send_expiry_notice(user) -> None:
    expires_at = password_expires_at(user)
    queue_email(
        to=user.email,
        template="password_expiry_notice",
        context={
            "user": user,
            "expires_at": timezone.localtime(expires_at),
            "change_url": absolute_url(reverse("password_change")),
            "reset_url": absolute_url(reverse("password_reset")),
            "operator_name": settings.PORTAL_OPERATOR_NAME,
        },
    )
    audit.record(
        EXPIRY_NOTICE_ACTION,
        target=user,
        details={"password_changed_at": _password_stamp(user), "expires_at": expires_at},
    )
