"""Delegated administration (rule R3): the first admin of an organisation, confirmed by a letter.

The applicant claims the admin role; a letter with an activation code goes to the legal
representative at the organisation's head office; the applicant becomes admin by typing the code
within PORTAL_ADMIN_CLAIM["days"] days. Later applicants wait for that admin (rule R1).

Every operation that may create an admin or a claim first locks the organisation's LegalUnit row:
two first users confirming at the same instant are served one after the other, and the second
finds the first one's claim. The partial unique constraints on Membership (one admin) and
AdminClaim (one open claim) are the guarantee if anything bypasses the lock.
"""

import datetime
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mailings.letters import cancel_letter, queue_letter
from mailings.services import queue_email
from organisations.enums import OPEN_CLAIM_STATUSES, AdminClaimStatus, MembershipStatus
from organisations.models import AdminClaim, Establishment, LegalUnit, Membership
from organisations.onboarding import has_admin_or_claim
from portal import audit

logger = logging.getLogger(__name__)

# No 0/O, 1/I/L, 5/S or 8/B: a code read on paper is typed right.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXYZ234679"
CODE_LENGTH = 10


class DelegationError(Exception):
    """A refusal to show the user (French message)."""


def new_activation_code() -> str:
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{code[:5]}-{code[5:]}"


def normalize_code(value: str) -> str:
    """What the user typed, as the code was hashed: capitals, no spaces or dashes."""
    return "".join(char for char in (value or "").upper() if char.isalnum())


def _claim_setting(key: str) -> int:
    return settings.PORTAL_ADMIN_CLAIM[key]


def end_of_day(moment: datetime.datetime) -> datetime.datetime:
    """The last instant of that day in the portal's time zone: the letter says "valable jusqu'au
    22 décembre", which its reader takes as the whole day."""
    day = timezone.localtime(moment).date()
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(23, 59, 59)))


def lock_organisation(siren: str) -> LegalUnit:
    """Serialise the decisions about one organisation's admin (see the module's docstring)."""
    return LegalUnit.objects.select_for_update().get(pk=siren)


def organisation_admin(siren: str) -> Membership | None:
    return Membership.objects.select_related("user").filter(legal_unit_id=siren, is_admin=True).first()


def open_claim(siren: str) -> AdminClaim | None:
    return (
        AdminClaim.objects.select_related("membership__user")
        .filter(legal_unit_id=siren, status__in=OPEN_CLAIM_STATUSES)
        .first()
    )


def admin_role_available(siren: str) -> bool:
    """Neither an admin nor an open claim: the next applicant may be offered the role (R3)."""
    return "R3" in settings.PORTAL_ONBOARDING_RULES and not has_admin_or_claim(siren)


def head_office_address(legal_unit: LegalUnit, fallback: Establishment) -> list[str]:
    """The letter's address block: the organisation's name and its head office's address."""
    office = (
        Establishment.objects.filter(legal_unit=legal_unit, is_siege=True, is_diffusible=True)
        .order_by("-is_active", "siret")
        .first()
        or fallback
    )
    lines = [legal_unit.denomination or office.name or legal_unit.siren]
    lines += [line for line in (office.street_address, office.address_complement) if line]
    if office.cedex_code:
        lines.append(f"{office.cedex_code} {office.cedex_label}".strip())
    else:
        lines.append(f"{office.postal_code} {office.city}".strip())
    return lines


def _login_url() -> str:
    from accounts.access import absolute_url

    return absolute_url(reverse("login"))


def _issue_letter(claim: AdminClaim, *, request=None) -> None:
    """A new code, hashed on the claim and printed in a new letter; the previous one is void."""
    code = new_activation_code()
    now = timezone.now()
    if claim.letter is not None:
        cancel_letter(letter=claim.letter, request=request)
    membership = claim.membership
    claim.code_hash = make_password(normalize_code(code))
    claim.expires_at = end_of_day(now + datetime.timedelta(days=_claim_setting("days")))
    claim.tries = 0
    claim.status = AdminClaimStatus.PENDING
    claim.reminder_sent_at = None
    claim.letters_sent += 1
    claim.letter = queue_letter(
        template="admin_activation",
        recipient=head_office_address(claim.legal_unit, membership.establishment),
        context={
            "organisation": claim.legal_unit.denomination or claim.legal_unit.siren,
            "applicant": membership.user.get_full_name() or membership.user.identifiant,
            "identifiant": membership.user.identifiant,
            "code": code,
            "expires_at": claim.expires_at,
            "login_url": _login_url(),
        },
    )
    claim.save()


def _email_context(claim: AdminClaim, **extra) -> dict:
    return {
        "user": claim.membership.user,
        "organisation": claim.legal_unit.denomination or claim.legal_unit.siren,
        "expires_at": claim.expires_at,
        "operator": settings.PORTAL_OPERATOR_NAME,
        "login_url": _login_url(),
        **extra,
    }


def start_claim(*, membership: Membership, request=None) -> AdminClaim:
    """Open the claim of a membership whose organisation is locked and free (caller's duty)."""
    claim = AdminClaim(membership=membership, legal_unit_id=membership.legal_unit_id)
    claim.legal_unit = membership.legal_unit
    _issue_letter(claim, request=request)
    audit.record(
        "admin_claim.started",
        actor=membership.user,
        target=claim,
        request=request,
        details={"siren": membership.legal_unit_id, "letter": str(claim.letter.uuid)},
    )
    queue_email(to=membership.email, template="admin_claim_started", context=_email_context(claim))
    return claim


@transaction.atomic
def claim_admin_role(*, membership: Membership, request=None) -> AdminClaim:
    """An applicant waiting in an organisation without admin asks for the role (R3 offered later).

    Raises DelegationError when someone else was first.
    """
    lock_organisation(membership.legal_unit_id)
    membership = (
        Membership.objects.select_for_update().select_related("user", "legal_unit").get(pk=membership.pk)
    )
    if "R3" not in settings.PORTAL_ONBOARDING_RULES:
        raise DelegationError(_("L'opérateur ne délègue pas l'administration des structures."))
    if membership.status not in (MembershipStatus.PENDING_ADMIN, MembershipStatus.APPROVED):
        raise DelegationError(_("Votre inscription dans cette structure ne permet pas cette demande."))
    if organisation_admin(membership.legal_unit_id) is not None:
        raise DelegationError(
            _(
                "Votre structure a déjà un administrateur : c'est lui qui valide votre inscription et vos demandes."
            )
        )
    if open_claim(membership.legal_unit_id) is not None:
        raise DelegationError(
            _(
                "Un autre membre de votre structure a demandé le rôle d'administrateur avant vous. "
                "Dès qu'il l'aura activé, il validera votre inscription et vos demandes."
            )
        )
    if membership.status == MembershipStatus.PENDING_ADMIN:
        membership.status = MembershipStatus.PENDING_ACTIVATION
        membership.save(update_fields=["status"])
    return start_claim(membership=membership, request=request)


@transaction.atomic
def send_new_letter(*, claim: AdminClaim, by, request=None) -> AdminClaim:
    """Staff send a new letter (lost, or code blocked): the previous code no longer works."""
    lock_organisation(claim.legal_unit_id)
    claim = (
        AdminClaim.objects.select_for_update(of=("self",))
        .select_related("membership__user", "membership__establishment", "legal_unit", "letter")
        .get(pk=claim.pk)
    )
    if not claim.is_open:
        raise DelegationError(
            _("La demande de %(user)s est close (%(status)s) : aucun courrier n'est envoyé.")
            % {"user": claim.membership.user, "status": claim.get_status_display()}
        )
    _issue_letter(claim, request=request)
    audit.record(
        "admin_claim.new_letter",
        actor=by,
        target=claim,
        request=request,
        details={"letters_sent": claim.letters_sent, "letter": str(claim.letter.uuid)},
    )
    queue_email(to=claim.membership.email, template="admin_claim_new_letter", context=_email_context(claim))
    return claim


@dataclass(frozen=True)
class ActivationResult:
    membership: Membership | None = None  # the new admin's membership, on success
    error: str = ""


def activate_admin_role(*, user, siren: str, code: str, request=None) -> ActivationResult:
    """The applicant types the letter's code: the right one makes them the organisation's admin.

    Each wrong code uses one of PORTAL_ADMIN_CLAIM["max_tries"] tries; the last one blocks the code
    and the staff are told. The counted try is committed even though the answer is a refusal.
    """
    max_tries = _claim_setting("max_tries")
    with transaction.atomic():
        lock_organisation(siren)
        claim = (
            AdminClaim.objects.select_for_update()
            .select_related("membership__user", "legal_unit")
            .filter(legal_unit_id=siren, membership__user=user, status__in=OPEN_CLAIM_STATUSES)
            .first()
        )
        if claim is None:
            return ActivationResult(
                error=_("Aucune demande de rôle d'administrateur n'attend de code pour cette structure.")
            )
        if claim.status == AdminClaimStatus.BLOCKED:
            return ActivationResult(error=_blocked_message())
        if claim.expires_at <= timezone.now():
            return ActivationResult(
                error=_(
                    "Ce code a expiré : votre demande n'est plus valable. Vous pouvez renouveler votre inscription."
                )
            )
        if check_password(normalize_code(code), claim.code_hash):
            return ActivationResult(membership=_make_admin(claim, request=request))
        claim.tries += 1
        details = {"tries": claim.tries}
        if claim.tries >= max_tries:
            claim.status = AdminClaimStatus.BLOCKED
            claim.save(update_fields=["tries", "status"])
            audit.record("admin_claim.blocked", actor=user, target=claim, request=request, details=details)
            if settings.PORTAL_STAFF_EMAIL:
                queue_email(
                    to=settings.PORTAL_STAFF_EMAIL,
                    template="admin_claim_blocked",
                    context=_email_context(claim, tries=claim.tries, siren=siren),
                )
            return ActivationResult(error=_blocked_message())
        claim.save(update_fields=["tries"])
        audit.record("admin_claim.code_failed", actor=user, target=claim, request=request, details=details)
    left = max_tries - claim.tries
    return ActivationResult(
        error=ngettext(
            "Code incorrect. Il vous reste %(left)d essai.",
            "Code incorrect. Il vous reste %(left)d essais.",
            left,
        )
        % {"left": left}
    )


def _blocked_message() -> str:
    return _(
        "Ce code est bloqué après trop d'essais. L'opérateur en est informé : il enverra un nouveau "
        "courrier à votre représentant légal."
    )


def _make_admin(claim: AdminClaim, *, request=None) -> Membership:
    now = timezone.now()
    membership = (
        Membership.objects.select_for_update()
        .select_related("user", "legal_unit")
        .get(pk=claim.membership_id)
    )
    membership.status = MembershipStatus.APPROVED
    membership.is_admin = True
    membership.decided_at = membership.decided_at or now
    membership.save(update_fields=["status", "is_admin", "decided_at"])
    claim.status = AdminClaimStatus.ACTIVATED
    claim.closed_at = now
    claim.save(update_fields=["status", "closed_at"])
    audit.record("admin_claim.activated", actor=membership.user, target=claim, request=request)
    audit.record("membership.admin_granted", actor=membership.user, target=membership, request=request)
    waiting = list(
        Membership.objects.select_related("user")
        .filter(legal_unit_id=membership.legal_unit_id, status=MembershipStatus.PENDING_ADMIN)
        .order_by("created_at")
    )
    queue_email(
        to=membership.email,
        template="admin_role_activated",
        context={
            **_email_context(claim),
            "waiting": waiting,
            "gestion_url": _gestion_url(membership.legal_unit_id),
        },
    )
    return membership


def _gestion_url(siren: str) -> str:
    from accounts.access import absolute_url

    return absolute_url(reverse("gestion:home", kwargs={"siren": siren}))


def offer_admin_role(*, siren: str, request=None) -> Membership | None:
    """The organisation has neither admin nor claim: the earliest waiting applicant is told they
    may become its admin. The others keep waiting."""
    if not admin_role_available(siren):
        return None
    membership = (
        Membership.objects.select_related("user", "legal_unit")
        .filter(legal_unit_id=siren, status=MembershipStatus.PENDING_ADMIN)
        .order_by("created_at", "pk")
        .first()
    )
    if membership is None:
        return None
    from accounts.access import absolute_url, send_access_link

    queue_email(
        to=membership.email,
        template="admin_role_offered",
        context={
            "user": membership.user,
            "organisation": membership.legal_unit.denomination or siren,
            "operator": settings.PORTAL_OPERATOR_NAME,
            "offer_url": absolute_url(reverse("admin_role_offer", kwargs={"siren": siren})),
            "login_url": _login_url(),
        },
    )
    if not membership.user.has_usable_password():
        send_access_link(user=membership.user, request=request)
    audit.record("admin_role.offered", target=membership, request=request)
    return membership


# Periodic jobs (Celery beat, organisations/tasks.py) ---------------------------------------------


def expire_admin_claims(*, now=None) -> int:
    """Claims whose code was not typed in time lapse; the applicant is told, and the earliest
    waiting applicant is offered the role. Idempotent: a lapsed claim is no longer open."""
    now = now or timezone.now()
    count = 0
    due = AdminClaim.objects.filter(status__in=OPEN_CLAIM_STATUSES, expires_at__lte=now)
    for claim_id, siren in due.values_list("pk", "legal_unit_id").order_by("expires_at"):
        with transaction.atomic():
            lock_organisation(siren)
            claim = (
                AdminClaim.objects.select_for_update(of=("self",))
                .select_related("membership__user", "legal_unit", "letter")
                .filter(pk=claim_id, status__in=OPEN_CLAIM_STATUSES, expires_at__lte=now)
                .first()
            )
            if claim is None:
                continue
            claim.status = AdminClaimStatus.LAPSED
            claim.closed_at = now
            claim.save(update_fields=["status", "closed_at"])
            if claim.letter is not None:
                cancel_letter(letter=claim.letter)
            membership = claim.membership
            if membership.status == MembershipStatus.PENDING_ACTIVATION:
                membership.status = MembershipStatus.LAPSED
                membership.save(update_fields=["status"])
            audit.record("admin_claim.lapsed", target=claim, details={"siren": siren})
            queue_email(
                to=membership.email,
                template="admin_claim_lapsed",
                context={**_email_context(claim), "signup_url": _signup_url()},
            )
            offer_admin_role(siren=siren)
            count += 1
    audit.record("job.expire_admin_claims", details={"lapsed": count, "at": now})
    return count


def remind_admin_claims(*, now=None) -> int:
    """Remind the applicant PORTAL_ADMIN_CLAIM["reminder_days"] days before their code expires.
    Idempotent: one reminder per letter (reminder_sent_at, reset by a new letter)."""
    now = now or timezone.now()
    horizon = now + datetime.timedelta(days=_claim_setting("reminder_days"))
    count = 0
    due = AdminClaim.objects.filter(
        status=AdminClaimStatus.PENDING,
        reminder_sent_at__isnull=True,
        expires_at__gt=now,
        expires_at__lte=horizon,
    )
    for claim_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            claim = (
                AdminClaim.objects.select_for_update(skip_locked=True)
                .select_related("membership__user", "legal_unit")
                .filter(pk=claim_id, status=AdminClaimStatus.PENDING, reminder_sent_at__isnull=True)
                .first()
            )
            if claim is None:
                continue
            claim.reminder_sent_at = now
            claim.save(update_fields=["reminder_sent_at"])
            queue_email(
                to=claim.membership.email, template="admin_claim_reminder", context=_email_context(claim)
            )
            audit.record("admin_claim.reminded", target=claim)
            count += 1
    audit.record("job.remind_admin_claims", details={"reminded": count, "at": now})
    return count


def _signup_url() -> str:
    from accounts.access import absolute_url

    return absolute_url(reverse("signup"))
