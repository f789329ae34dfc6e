"""What members change about their own structures (DESIGN §4; reference bdt-espace-personnel-
habilitations.txt, "Gestion des structures" and "Modification des informations au sein de la
structure"): their phone numbers, their e-mail address, their function, and detaching themselves.

Every service acts for ``by``, the member themselves (the views pass request.user), reads the
membership again under lock, refuses a structure the member has already removed, audits the change
and e-mails the member, in one transaction.

A new e-mail address counts only once the code sent to it is typed: until then the membership keeps
its address, and the pending EmailChange row holds an HMAC of the code (accounts.access.hash_code),
valid for settings.PORTAL_EMAIL_CODE["ttl_minutes"] and ["max_tries"] tries; a new request ends the
previous one.
"""

import datetime
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import absolute_url, hash_code, new_code
from accounts.validators import display_phone
from habilitations.enums import HabilitationStatus
from habilitations.models import Habilitation
from mailings.letters import cancel_letter
from mailings.services import queue_email
from organisations.delegation import lock_organisation, offer_admin_role
from organisations.enums import OPEN_CLAIM_STATUSES, AdminClaimStatus, MembershipStatus
from organisations.models import AdminClaim, ClientNumber, EmailChange, Function, Membership
from portal import audit, ratelimit

HOUR = 3600
# Codes asked from one network address, whatever the addresses they go to.
EMAIL_CODE_SENDS_PER_IP_HOUR = 20
# The reason given to the habilitations a detached structure ends.
DETACHED_REASON = gettext_lazy("Structure supprimée par l'utilisateur")


class ProfileError(Exception):
    """A change the member cannot make (or no longer): the message is shown to them, in French."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _code_settings() -> dict:
    return settings.PORTAL_EMAIL_CODE


def organisation_name(membership: Membership) -> str:
    return membership.legal_unit.denomination or membership.legal_unit_id


def client_numbers(membership: Membership) -> list[str]:
    """The operator's client numbers ("code tiers") of the member's organisation, if any."""
    return list(
        ClientNumber.objects.filter(siren=membership.legal_unit_id)
        .order_by("number")
        .values_list("number", flat=True)
    )


def _lock(membership: Membership) -> Membership:
    """The membership read again under lock, unless the member has removed it meanwhile."""
    membership = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user", "legal_unit", "category", "function")
        .get(pk=membership.pk)
    )
    if membership.status == MembershipStatus.DETACHED:
        raise ProfileError(
            _("Vous avez supprimé cette structure de votre espace : elle ne peut plus être modifiée.")
        )
    return membership


def _email_member(membership: Membership, template: str, *, to: str = "", request=None, **context) -> None:
    queue_email(
        to=to or membership.email,
        template=f"structure_{template}",
        context={
            "membership": membership,
            "user": membership.user,
            "organisation": organisation_name(membership),
            "operator": settings.PORTAL_OPERATOR_NAME,
            "contact_email": settings.PORTAL_CONTACT_EMAIL,
            "structure_url": absolute_url(
                reverse("structures:detail", kwargs={"pk": membership.pk}), request
            ),
            "dashboard_url": absolute_url(reverse("dashboard"), request),
            "reset_url": absolute_url(reverse("password_reset"), request),
            **context,
        },
    )


# Phone numbers -----------------------------------------------------------------------------------


@transaction.atomic
def change_phone(
    *, membership: Membership, by, phone_landline: str, phone_mobile: str = "", request=None
) -> bool:
    """Set the member's phone numbers in the structure (E.164, as accounts.validators.normalize_phone
    gives them). False, and nothing recorded, if they are the same."""
    membership = _lock(membership)
    new = {"phone_landline": phone_landline, "phone_mobile": phone_mobile or ""}
    changes = {
        name: {"old": getattr(membership, name), "new": value}
        for name, value in new.items()
        if getattr(membership, name) != value
    }
    if not changes:
        return False
    for name, value in new.items():
        setattr(membership, name, value)
    membership.save(update_fields=list(new))
    audit.record("structure.phone_changed", actor=by, target=membership, request=request, details=changes)
    _email_member(
        membership,
        "phone_changed",
        request=request,
        phone_landline=display_phone(membership.phone_landline),
        phone_mobile=display_phone(membership.phone_mobile),
    )
    return True


# Function ----------------------------------------------------------------------------------------


def _function_label(membership: Membership) -> dict:
    return {
        "category": membership.category.name if membership.category_id else "",
        "function": membership.function.name if membership.function_id else "",
    }


@transaction.atomic
def change_function(*, membership: Membership, by, function: Function, request=None) -> bool:
    """Set the member's function in the structure, and its category with it. The function must
    still be offered (its category too). False, and nothing recorded, if it is the same."""
    membership = _lock(membership)
    if not (function.is_active and function.category.is_active):
        raise ProfileError(_("Cette fonction n'est plus proposée : choisissez-en une autre dans la liste."))
    if membership.function_id == function.pk and membership.category_id == function.category_id:
        return False
    old = _function_label(membership)
    membership.function = function
    membership.category = function.category
    membership.save(update_fields=["function", "category"])
    audit.record(
        "structure.function_changed",
        actor=by,
        target=membership,
        request=request,
        details={"old": old, "new": _function_label(membership)},
    )
    _email_member(membership, "function_changed", request=request)
    return True


# E-mail address ----------------------------------------------------------------------------------


def pending_email_change(membership: Membership) -> EmailChange | None:
    """The latest change of address still waiting for its code, usable or not (expired, spent)."""
    return membership.email_changes.filter(confirmed_at__isnull=True).order_by("-created_at", "-pk").first()


def is_usable(change: EmailChange, *, now: datetime.datetime | None = None) -> bool:
    return (
        change.confirmed_at is None
        and change.expires_at > (now or timezone.now())
        and change.tries < _code_settings()["max_tries"]
    )


def _end_pending_changes(membership: Membership, now: datetime.datetime) -> None:
    membership.email_changes.filter(confirmed_at__isnull=True, expires_at__gt=now).update(expires_at=now)


def _check_send_limits(*, email: str, request) -> None:
    if not ratelimit.allow(
        "structure-email-code-address", email, limit=_code_settings()["max_sends_per_hour"], window=HOUR
    ):
        raise ProfileError(_("Trop de codes ont été envoyés à cette adresse : réessayez dans une heure."))
    ip_address = getattr(request, "client_ip", None) if request is not None else None
    if ip_address and not ratelimit.allow(
        "structure-email-code-ip", ip_address, limit=EMAIL_CODE_SENDS_PER_IP_HOUR, window=HOUR
    ):
        raise ProfileError(
            _("Trop de codes ont été demandés depuis votre connexion : réessayez dans une heure.")
        )


@transaction.atomic
def request_email_change(*, membership: Membership, by, email: str, request=None) -> EmailChange:
    """E-mail a code to the new address (validated and lowercased by the form); the address in
    force stays the same until the code is typed (confirm_email_change). At most
    PORTAL_EMAIL_CODE["max_sends_per_hour"] codes an hour go to one address."""
    membership = _lock(membership)
    email = email.strip().lower()
    if email == membership.email.lower():
        raise ProfileError(_("C'est déjà l'adresse électronique de votre inscription dans cette structure."))
    _check_send_limits(email=email, request=request)
    options = _code_settings()
    now = timezone.now()
    _end_pending_changes(membership, now)
    code = new_code(options["length"])
    salt = secrets.token_hex(16)
    change = EmailChange.objects.create(
        membership=membership,
        email=email,
        code_hash=hash_code(code, salt),
        salt=salt,
        expires_at=now + datetime.timedelta(minutes=options["ttl_minutes"]),
    )
    audit.record(
        "structure.email_change_requested",
        actor=by,
        target=membership,
        request=request,
        details={"old": membership.email, "new": email},
    )
    _email_member(
        membership,
        "email_code",
        to=email,
        request=request,
        code=code,
        minutes=options["ttl_minutes"],
        new_email=email,
        confirm_url=absolute_url(reverse("structures:email_confirm", kwargs={"pk": membership.pk}), request),
    )
    return change


@dataclass(frozen=True)
class EmailCodeCheck:
    """What typing a code gave: the address changed (right code), tries left, or the code spent."""

    changed: bool = False
    remaining: int = 0
    spent: bool = False
    email: str = ""


@transaction.atomic
def confirm_email_change(*, membership: Membership, by, code: str, request=None) -> EmailCodeCheck:
    """Check the code typed for the pending change of address; each check uses one try, kept even
    when the code is wrong. The right code makes the new address the membership's, and the former
    address is told it was replaced."""
    membership = _lock(membership)
    change = (
        EmailChange.objects.select_for_update()
        .filter(membership=membership, confirmed_at__isnull=True)
        .order_by("-created_at", "-pk")
        .first()
    )
    now = timezone.now()
    if change is None or not is_usable(change, now=now):
        return EmailCodeCheck(spent=True)
    change.tries += 1
    if not constant_time_compare(hash_code(code, change.salt), change.code_hash):
        change.save(update_fields=["tries"])
        return EmailCodeCheck(remaining=_code_settings()["max_tries"] - change.tries)
    change.confirmed_at = now
    change.save(update_fields=["tries", "confirmed_at"])
    old = membership.email
    membership.email = change.email
    membership.save(update_fields=["email"])
    audit.record(
        "structure.email_changed",
        actor=by,
        target=membership,
        request=request,
        details={"old": old, "new": change.email},
    )
    for address in (old, change.email):
        _email_member(
            membership, "email_changed", to=address, request=request, old_email=old, new_email=change.email
        )
    return EmailCodeCheck(changed=True, email=change.email)


# Detaching ---------------------------------------------------------------------------------------


def _close_admin_claim(membership: Membership, *, by, now, request) -> bool:
    """A claim of the admin role leaves with its applicant: its letter is cancelled, so that its
    code can no longer make a removed membership the organisation's admin."""
    claim = (
        AdminClaim.objects.select_for_update(of=("self",))
        .select_related("letter")
        .filter(membership=membership, status__in=OPEN_CLAIM_STATUSES)
        .first()
    )
    if claim is None:
        return False
    claim.status = AdminClaimStatus.LAPSED
    claim.closed_at = now
    claim.save(update_fields=["status", "closed_at"])
    if claim.letter is not None:
        cancel_letter(letter=claim.letter, request=request, by=by)
    audit.record("admin_claim.withdrawn", actor=by, target=claim, request=request)
    return True


@transaction.atomic
def detach_structure(*, membership: Membership, by, request=None) -> Membership:
    """Remove a structure from the member's space ("Supprimer une structure").

    The membership becomes DETACHED: its validated services are deactivated, its pending requests
    refused, through the habilitations' own transitions, so that their history stays. The admin
    of the organisation must hand the role over first. An open claim of the admin role is
    withdrawn, and the role offered to the next waiting applicant.
    """
    siren = membership.legal_unit_id
    # Serialised with the admin's decisions about the organisation's members (organisations.members).
    lock_organisation(siren)
    membership = _lock(membership)
    if membership.is_admin:
        raise ProfileError(
            _(
                "Vous êtes l'administrateur de cette structure : transmettez d'abord le rôle "
                "d'administrateur à un autre membre, depuis la page de gestion de la structure."
            )
        )
    now = timezone.now()
    membership.status = MembershipStatus.DETACHED
    membership.save(update_fields=["status"])
    habilitations = (
        Habilitation.objects.select_for_update(of=("self",))
        .select_related("service")
        .filter(membership=membership)
        .order_by("service__position", "service__name")
    )
    reason = str(DETACHED_REASON)
    deactivated, refused = [], []
    for habilitation in habilitations:
        if habilitation.status == HabilitationStatus.VALIDATED:
            habilitation.deactivate(by=by, reason=reason, request=request)
            deactivated.append(habilitation.service.name)
        elif habilitation.status == HabilitationStatus.REQUESTED:
            habilitation.refuse(by=by, reason=reason, request=request)
            refused.append(habilitation.service.name)
    _end_pending_changes(membership, now)
    claim_withdrawn = _close_admin_claim(membership, by=by, now=now, request=request)
    audit.record(
        "structure.detached",
        actor=by,
        target=membership,
        request=request,
        details={"deactivated": deactivated, "refused": refused, "admin_claim_withdrawn": claim_withdrawn},
    )
    _email_member(membership, "detached", request=request, deactivated=deactivated, refused=refused)
    if claim_withdrawn:
        offer_admin_role(siren=siren, request=request)
    return membership
