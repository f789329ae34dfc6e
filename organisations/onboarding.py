"""The onboarding rules: what happens to a registration once its e-mail is confirmed (DESIGN §2).

Rules are tried in order R1, R2, R3, R4; the operator's preset says which are on. A rule that
applies returns its decision; R4 (staff validation) is the fallback whatever the preset.

R1 and R3 read the organisation's admin and open claim: the caller decides with the organisation
locked (organisations.delegation.lock_organisation), so that the answer still holds when it acts.
"""

from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.db import connection

from organisations.enums import OPEN_CLAIM_STATUSES, MembershipStatus, OnboardingRule, TrustKind
from organisations.models import Establishment, TrustedDomainEntry


@dataclass(frozen=True)
class Decision:
    rule: OnboardingRule
    status: MembershipStatus


def is_trusted(*, establishment: Establishment, email: str) -> bool:
    """R2: the organisation is in the trusted domain by SIREN, by legal category, or by the
    e-mail's domain when staff declared that domain for that organisation."""
    unit = establishment.legal_unit
    domain = email.rsplit("@", 1)[-1].lower()
    entries = TrustedDomainEntry.objects.filter(
        kind=TrustKind.SIREN, value=unit.siren
    ) | TrustedDomainEntry.objects.filter(kind=TrustKind.EMAIL_DOMAIN, value=domain, siren=unit.siren)
    if unit.legal_category:
        entries |= TrustedDomainEntry.objects.filter(kind=TrustKind.LEGAL_CATEGORY, value=unit.legal_category)
    return entries.exists()


def has_admin_or_claim(siren: str) -> bool:
    """R1: an admin decides this organisation's registrations, or will once their letter's code is
    typed (later applicants wait for it)."""
    # Written in SQL: the wizard asks at each visit of its last two steps, and the ORM took a
    # millisecond of CPU to build this query.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM organisations_membership WHERE legal_unit_id = %s AND is_admin)"
            " OR EXISTS (SELECT 1 FROM organisations_adminclaim WHERE legal_unit_id = %s AND status = ANY(%s))",
            [siren, siren, [str(status) for status in OPEN_CLAIM_STATUSES]],
        )
        return cursor.fetchone()[0]


def waits_for_organisation_admin(siren: str) -> bool:
    """Whether rule R1 decides a registration in this organisation now (the wizard then offers
    the services, whose requests go to the admin)."""
    return "R1" in settings.PORTAL_ONBOARDING_RULES and has_admin_or_claim(siren)


@dataclass
class Application:
    """What the rules look at; the organisation's admin or claim read once for all of them."""

    establishment: Establishment
    email: str
    accepts_admin_role: bool

    @cached_property
    def has_admin_or_claim(self) -> bool:
        return has_admin_or_claim(self.establishment.legal_unit_id)


def _organisation_admin(application):
    if application.has_admin_or_claim:
        return Decision(OnboardingRule.R1_ORGANISATION_ADMIN, MembershipStatus.PENDING_ADMIN)
    return None


def _trusted_domain(application):
    if is_trusted(establishment=application.establishment, email=application.email):
        return Decision(OnboardingRule.R2_TRUSTED_DOMAIN, MembershipStatus.APPROVED)
    return None


def _first_admin(application):
    if application.has_admin_or_claim:
        return None
    if application.accepts_admin_role:
        return Decision(OnboardingRule.R3_DELEGATED_ADMIN, MembershipStatus.PENDING_ACTIVATION)
    # Offered the role but not accepted (it was taken and freed while they confirmed): they wait,
    # and are offered it again (organisations.delegation.offer_admin_role).
    return Decision(OnboardingRule.R3_DELEGATED_ADMIN, MembershipStatus.PENDING_ADMIN)


def _staff_validation(application):
    return Decision(OnboardingRule.R4_STAFF_VALIDATION, MembershipStatus.PENDING_STAFF)


RULES = [
    (OnboardingRule.R1_ORGANISATION_ADMIN, _organisation_admin),
    (OnboardingRule.R2_TRUSTED_DOMAIN, _trusted_domain),
    (OnboardingRule.R3_DELEGATED_ADMIN, _first_admin),
    (OnboardingRule.R4_STAFF_VALIDATION, _staff_validation),
]


def decide(*, establishment: Establishment, email: str, accepts_admin_role: bool = False) -> Decision:
    enabled = set(settings.PORTAL_ONBOARDING_RULES)
    application = Application(establishment, email, accepts_admin_role)
    for rule, apply in RULES:
        if rule in enabled:
            decision = apply(application)
            if decision is not None:
                return decision
    return _staff_validation(application)


def offers_admin_role(*, establishment: Establishment, email: str) -> bool:
    """Whether the applicant is the organisation's first user and is offered its admin role (R3)."""
    return decide(establishment=establishment, email=email, accepts_admin_role=True).rule == (
        OnboardingRule.R3_DELEGATED_ADMIN
    )
