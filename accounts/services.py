"""Signup: from the confirmed wizard to a real registration, through the e-mailed code."""

import datetime
import re
import secrets
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from accounts.models import PendingSignup, User
from mailings.services import queue_email
from organisations.enums import MembershipStatus, OnboardingRule
from organisations.models import Category, CategoryFlag, Function, Membership
from organisations.onboarding import decide
from organisations.search import get_searchable
from portal import audit, ratelimit

SENDS_PER_IP_PER_HOUR = 20


class SignupError(Exception):
    """A user-facing refusal (French message)."""


def _code_hash(pending_token, code: str) -> str:
    return salted_hmac("accounts.signup-code", f"{pending_token}:{code}").hexdigest()


def _new_code() -> str:
    length = settings.PORTAL_EMAIL_CODE["length"]
    return "".join(secrets.choice("0123456789") for _ in range(length))


def _send_code(pending: PendingSignup, code: str) -> None:
    queue_email(
        to=pending.email,
        template="signup_code",
        context={
            "code": code,
            "minutes": settings.PORTAL_EMAIL_CODE["ttl_minutes"],
            "operator": settings.PORTAL_OPERATOR_NAME,
        },
    )


def _check_send_limits(*, email: str, ip_address: str | None) -> None:
    per_hour = settings.PORTAL_EMAIL_CODE["max_sends_per_hour"]
    if not ratelimit.allow("signup-code-email", email, limit=per_hour, window=3600):
        raise SignupError(_("Trop de codes ont été envoyés à cette adresse : réessayez dans une heure."))
    if ip_address and not ratelimit.allow(
        "signup-code-ip", ip_address, limit=SENDS_PER_IP_PER_HOUR, window=3600
    ):
        raise SignupError(
            _("Trop de codes ont été demandés depuis votre connexion : réessayez dans une heure.")
        )


@transaction.atomic
def start_signup(*, data: dict, request=None) -> PendingSignup:
    """The wizard was confirmed: keep its answers and e-mail a code to the address.

    Nothing else is created until the code is typed (verify_signup_code).
    """
    ip_address = getattr(request, "client_ip", None) if request is not None else None
    _check_send_limits(email=data["email"], ip_address=ip_address)
    code = _new_code()
    pending = PendingSignup(
        email=data["email"],
        data=data,
        code_expires_at=timezone.now()
        + datetime.timedelta(minutes=settings.PORTAL_EMAIL_CODE["ttl_minutes"]),
        ip_address=ip_address,
    )
    pending.code_hash = _code_hash(pending.token, code)
    pending.save()
    _send_code(pending, code)
    audit.record("signup.code_sent", request=request, target=pending, details={"email": pending.email})
    return pending


@transaction.atomic
def resend_signup_code(*, pending: PendingSignup, request=None) -> None:
    pending = PendingSignup.objects.select_for_update().get(pk=pending.pk)
    if pending.completed_at:
        raise SignupError(_("Cette inscription est déjà confirmée."))
    _check_send_limits(email=pending.email, ip_address=getattr(request, "client_ip", None))
    code = _new_code()
    pending.code_hash = _code_hash(pending.token, code)
    pending.code_expires_at = timezone.now() + datetime.timedelta(
        minutes=settings.PORTAL_EMAIL_CODE["ttl_minutes"]
    )
    pending.tries = 0
    pending.sends += 1
    pending.save(update_fields=["code_hash", "code_expires_at", "tries", "sends"])
    _send_code(pending, code)
    audit.record("signup.code_resent", request=request, target=pending)


@dataclass
class SignupOutcome:
    membership: Membership
    created: bool  # False: this person was already registered in this organisation
    notice: str = ""  # what the applicant must know of the outcome (the admin role was taken)


def verify_signup_code(*, pending: PendingSignup, code: str, request=None) -> SignupOutcome:
    """Check the typed code; the right one turns the pending signup into a registration.

    Raises SignupError with the message to show next to the field otherwise.
    """
    with transaction.atomic():
        pending = PendingSignup.objects.select_for_update().get(pk=pending.pk)
        if pending.completed_at:
            membership = Membership.objects.get(pk=pending.data["membership_id"])
            return SignupOutcome(membership=membership, created=False, notice=pending.data.get("notice", ""))
        max_tries = settings.PORTAL_EMAIL_CODE["max_tries"]
        if pending.tries >= max_tries:
            raise SignupError(_("Trop d'essais pour ce code : demandez-en un nouveau."))
        if timezone.now() > pending.code_expires_at:
            raise SignupError(_("Ce code a expiré : demandez-en un nouveau."))
        code = re.sub(r"\s", "", code or "")
        if not constant_time_compare(pending.code_hash, _code_hash(pending.token, code)):
            pending.tries += 1
            pending.save(update_fields=["tries"])
            audit.record(
                "signup.code_failed", request=request, target=pending, details={"tries": pending.tries}
            )
            left = max_tries - pending.tries
            if left <= 0:
                failure = _("Code incorrect. Ce code n'est plus utilisable : demandez-en un nouveau.")
            else:
                failure = _("Code incorrect. Il vous reste %(left)s essai(s).") % {"left": left}
        else:
            failure = None
            outcome = complete_signup(pending=pending, request=request)
    if failure:
        # Raised outside the atomic block, so that the counted try is kept.
        raise SignupError(failure)
    return outcome


def _unique_identifiant(first_name: str, last_name: str) -> str:
    def ascii_slug(text):
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
        return re.sub(r"[^a-z0-9]+", "-", text).strip("-")

    base = (
        ".".join(part for part in (ascii_slug(first_name), ascii_slug(last_name)) if part)[:140]
        or "utilisateur"
    )
    candidate, number = base, 1
    while User.objects.filter(identifiant__iexact=candidate).exists():
        number += 1
        candidate = f"{base}{number}"
    return candidate


def _identifiant_for(data: dict) -> str:
    """The identifiant chosen in the wizard, unless someone took it since; else one made up."""
    chosen = data.get("identifiant") or ""
    if chosen and not User.objects.filter(identifiant__iexact=chosen).exists():
        return chosen
    return _unique_identifiant(data["first_name"], data["last_name"])


def _find_or_create_user(*, pending: PendingSignup, data: dict, request=None) -> User:
    user = User.objects.filter(email__iexact=pending.email).order_by("pk").first()
    if user is not None:
        return user
    user = User(
        identifiant=_identifiant_for(data),
        email=pending.email,
        civilite=data["civilite"],
        first_name=data["first_name"],
        last_name=data["last_name"],
        phone_landline=data["phone_landline"],
        phone_mobile=data["phone_mobile"],
    )
    user.set_unusable_password()
    user.save()
    audit.record("account.created", actor=user, target=user, request=request)
    return user


MEMBERSHIP_ANSWERS = [
    "title",
    "departement",
    "address",
    "address_complement",
    "postal_code",
    "city",
    "phone_landline",
    "phone_mobile",
    "cgu_version",
]


def complete_signup(*, pending: PendingSignup, request=None) -> SignupOutcome:
    """The e-mail is confirmed: create (or find) the person, their membership, and apply the rules.

    Runs in verify_signup_code's transaction, with the organisation locked while the rules decide:
    of two first users confirming at once, one gets the admin role's letter and the other waits
    for them (DESIGN §2).
    """
    from habilitations.models import Service
    from habilitations.services import request_habilitations
    from organisations.delegation import lock_organisation, offer_admin_role, start_claim

    data = pending.data
    establishment = get_searchable(data["siret"])
    if establishment is None:
        raise SignupError(_("Cet organisme n'est plus disponible : recommencez votre inscription."))
    user = _find_or_create_user(pending=pending, data=data, request=request)
    lock_organisation(establishment.legal_unit_id)
    membership = Membership.objects.filter(user=user, legal_unit=establishment.legal_unit).first()
    # A registration whose admin claim lapsed may be renewed (reference: "vous devrez renouveler
    # votre demande d'inscription"); any other is the same registration, not a new one.
    created = membership is None or membership.status == MembershipStatus.LAPSED
    notice = ""
    if created:
        accepts_admin_role = bool(data.get("accepts_admin_role"))
        decision = decide(
            establishment=establishment, email=pending.email, accepts_admin_role=accepts_admin_role
        )
        membership = membership or Membership(user=user, legal_unit=establishment.legal_unit)
        membership.establishment = establishment
        membership.status = decision.status
        membership.rule = decision.rule
        membership.category = Category.objects.get(pk=data["category"])
        membership.function = Function.objects.get(pk=data["function"])
        membership.email = pending.email
        for name in MEMBERSHIP_ANSWERS:
            setattr(membership, name, data[name])
        membership.decided_at = timezone.now() if decision.status == MembershipStatus.APPROVED else None
        membership.save()
        membership.flags.set(CategoryFlag.objects.filter(pk__in=data.get("flags", [])))
        audit.record(
            "signup.completed",
            actor=user,
            target=membership,
            request=request,
            details={"rule": decision.rule, "status": decision.status, "siret": establishment.siret},
        )
        services = Service.objects.filter(pk__in=data.get("services", []), is_active=True)
        if services:
            request_habilitations(membership=membership, services=services, by=user, request=request)
        if membership.status == MembershipStatus.PENDING_ACTIVATION:
            start_claim(membership=membership, request=request)
        elif accepts_admin_role:
            notice = _(
                "Un autre membre de votre organisme a demandé le rôle d'administrateur juste avant vous : "
                "votre inscription sera validée par l'administrateur de votre organisme."
            )
        notify_registration(membership, request=request)
        if (
            decision.rule == OnboardingRule.R3_DELEGATED_ADMIN
            and membership.status == MembershipStatus.PENDING_ADMIN
        ):
            offer_admin_role(siren=establishment.legal_unit_id, request=request)
    else:
        audit.record("signup.repeated", actor=user, target=membership, request=request)
    pending.completed_at = timezone.now()
    pending.data = {**pending.data, "membership_id": membership.pk, "created": created, "notice": notice}
    pending.save(update_fields=["completed_at", "data"])
    return SignupOutcome(membership=membership, created=created, notice=notice)


def notify_registration(membership: Membership, *, request=None) -> None:
    """Tell the applicant (and whoever decides) where a new registration stands."""
    from accounts import access
    from organisations.delegation import organisation_admin
    from organisations.services import notify_membership_approved

    context = {"membership": membership, "operator": settings.PORTAL_OPERATOR_NAME}
    if membership.status == MembershipStatus.APPROVED:
        notify_membership_approved(membership, request=request)
    elif membership.status == MembershipStatus.PENDING_STAFF:
        queue_email(to=membership.email, template="registration_pending", context=context)
        if settings.PORTAL_STAFF_EMAIL:
            queue_email(to=settings.PORTAL_STAFF_EMAIL, template="registration_to_review", context=context)
    elif membership.status == MembershipStatus.PENDING_ADMIN:
        admin = organisation_admin(membership.legal_unit_id)
        queue_email(
            to=membership.email,
            template="registration_pending_admin",
            context={**context, "has_admin": admin is not None},
        )
        if admin is not None:
            member_url = access.absolute_url(
                reverse("gestion:member", kwargs={"siren": membership.legal_unit_id, "pk": membership.pk}),
                request,
            )
            queue_email(
                to=admin.email,
                template="registration_to_admin",
                context={**context, "admin": admin, "member_url": member_url},
            )
    elif (
        membership.status == MembershipStatus.PENDING_ACTIVATION and not membership.user.has_usable_password()
    ):
        # The claimant logs in to type the letter's code: they choose their password meanwhile.
        access.send_access_link(user=membership.user, request=request)
