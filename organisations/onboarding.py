"""The onboarding rules: what happens to a registration once its e-mail is confirmed (DESIGN §2).

Rules are tried in order R1, R2, R3, R4; the operator's preset says which are on. A rule that
applies returns its decision; R4 (staff validation) is the fallback whatever the preset.
"""

from dataclasses import dataclass

from django.conf import settings

from organisations.enums import MembershipStatus, OnboardingRule, TrustKind
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


def _organisation_admin(*, establishment, email):
    # R1 — the organisation already has an active admin: arrives with delegated administration.
    return None


def _trusted_domain(*, establishment, email):
    if is_trusted(establishment=establishment, email=email):
        return Decision(OnboardingRule.R2_TRUSTED_DOMAIN, MembershipStatus.APPROVED)
    return None


def _first_admin(*, establishment, email):
    # R3 — first user offered the admin role, letter to the legal representative: arrives with
    # delegated administration.
    return None


def _staff_validation(*, establishment, email):
    return Decision(OnboardingRule.R4_STAFF_VALIDATION, MembershipStatus.PENDING_STAFF)


RULES = [
    (OnboardingRule.R1_ORGANISATION_ADMIN, _organisation_admin),
    (OnboardingRule.R2_TRUSTED_DOMAIN, _trusted_domain),
    (OnboardingRule.R3_DELEGATED_ADMIN, _first_admin),
    (OnboardingRule.R4_STAFF_VALIDATION, _staff_validation),
]


def decide(*, establishment: Establishment, email: str) -> Decision:
    enabled = set(settings.PORTAL_ONBOARDING_RULES)
    for rule, apply in RULES:
        if rule in enabled:
            decision = apply(establishment=establishment, email=email)
            if decision is not None:
                return decision
    return _staff_validation(establishment=establishment, email=email)
