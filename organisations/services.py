import json
from itertools import islice

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from habilitations.enums import HabilitationStatus
from mailings.services import queue_email
from organisations.enums import MembershipStatus
from organisations.models import Establishment, LegalUnit, Membership, SearchWord
from organisations.search import POSTAL_CODE_LEXEME, search_words
from portal import audit

# The SIRENE values of a legal unit and an establishment, as the demo, the sync and the live fetch
# upsert them.
SIRENE_LEGAL_UNIT_FIELDS = ["denomination", "sigle", "legal_category", "nic_siege", "is_active"]
SIRENE_ESTABLISHMENT_FIELDS = [
    "legal_unit",
    "is_siege",
    "is_active",
    "is_diffusible",
    "name",
    "street_number",
    "street_number_suffix",
    "street_type",
    "street_name",
    "address_complement",
    "postal_code",
    "city",
    "commune_code",
    "departement",
    "cedex_code",
    "cedex_label",
    "activity",
]


def refresh_search_index(*, sirets=None, chunk_size: int = 2000) -> int:
    """Recompute the search_vector of establishments (all, or these SIRETs) from their names, their
    legal units' and their towns: words normalised in Python (PostgreSQL has no unaccent without
    its extension), lexemes without positions, as the importer writes them."""
    queryset = Establishment.objects.order_by()
    if sirets is not None:
        queryset = queryset.filter(siret__in=list(sirets))
    rows = queryset.values_list("siret", "legal_unit_id", "name", "city", "postal_code", "cedex_code")
    rows = rows.iterator(chunk_size=chunk_size)
    table = Establishment._meta.db_table
    updated = 0
    while chunk := list(islice(rows, chunk_size)):
        units = {
            siren: (denomination, sigle)
            for siren, denomination, sigle in LegalUnit.objects.filter(
                siren__in={row[1] for row in chunk}
            ).values_list("siren", "denomination", "sigle")
        }
        vectors, new_words = [], set()
        for siret, siren, name, city, postal_code, cedex_code in chunk:
            denomination, sigle = units.get(siren, ("", ""))
            words = search_words(
                name=name,
                denomination=denomination,
                sigle=sigle,
                city=city,
                postal_code=postal_code,
                cedex_code=cedex_code,
            )
            vectors.append({"siret": siret, "words": words})
            new_words.update(word for word in words if not word.startswith(POSTAL_CODE_LEXEME))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET search_vector = array_to_tsvector(v.words) "  # noqa: S608 (the model's table)
                "FROM jsonb_to_recordset(%s::jsonb) AS v(siret text, words text[]) "
                f"WHERE {table}.siret = v.siret",
                [json.dumps(vectors)],
            )
            updated += cursor.rowcount
        # The words a typed prefix may stand for (organisations.search.text_query).
        SearchWord.objects.bulk_create(
            [SearchWord(word=word) for word in sorted(new_words)], ignore_conflicts=True
        )
    return updated


# Staff decide the registrations of rule R4, and may stand in for an organisation's admin (R1).
STAFF_DECIDES = [MembershipStatus.PENDING_STAFF, MembershipStatus.PENDING_ADMIN]


class InvalidDecision(Exception):
    """A decision on a registration that is not (or no longer) waiting for one."""


def notify_membership_approved(membership, *, request=None) -> None:
    """An approved applicant without a password gets the access link; others are told."""
    from accounts.access import send_access_link

    if membership.user.has_usable_password():
        queue_email(
            to=membership.email,
            template="registration_approved",
            context={"membership": membership, "operator": settings.PORTAL_OPERATOR_NAME},
        )
    else:
        send_access_link(user=membership.user, request=request)


def _pending_for_decision(membership_id) -> Membership:
    from organisations.delegation import lock_organisation

    # The organisation first, then the registration: the order of organisations.members, so that
    # staff and the organisation's admin deciding at once wait for each other, never deadlock.
    lock_organisation(Membership.objects.values_list("legal_unit_id", flat=True).get(pk=membership_id))
    membership = (
        Membership.objects.select_for_update().select_related("user", "legal_unit").get(pk=membership_id)
    )
    if membership.status not in STAFF_DECIDES:
        raise InvalidDecision(
            _("L'inscription de %(user)s a déjà été traitée (%(status)s).")
            % {"user": membership.user, "status": membership.get_status_display()}
        )
    return membership


@transaction.atomic
def approve_membership(*, membership: Membership, by, request=None) -> Membership:
    """Staff validation (R4): the registration is approved and the applicant e-mailed."""
    membership = _pending_for_decision(membership.pk)
    membership.status = MembershipStatus.APPROVED
    membership.decided_at = timezone.now()
    membership.decided_by = by
    membership.save(update_fields=["status", "decided_at", "decided_by"])
    audit.record("membership.approved", actor=by, target=membership, request=request)
    notify_membership_approved(membership, request=request)
    return membership


@transaction.atomic
def refuse_membership(*, membership: Membership, by, reason: str, request=None) -> Membership:
    """Staff refusal (R4), with a reason the applicant receives."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidDecision(_("Indiquez le motif du refus : il est envoyé au demandeur."))
    membership = _pending_for_decision(membership.pk)
    membership.status = MembershipStatus.REFUSED
    membership.decided_at = timezone.now()
    membership.decided_by = by
    membership.refusal_reason = reason
    membership.save(update_fields=["status", "decided_at", "decided_by", "refusal_reason"])
    # The services it asked for are refused with it, as when its organisation's admin refuses it.
    for habilitation in membership.habilitations.select_for_update().filter(
        status=HabilitationStatus.REQUESTED
    ):
        habilitation.refuse(by=by, reason=reason, request=request)
    audit.record(
        "membership.refused", actor=by, target=membership, request=request, details={"reason": reason}
    )
    queue_email(
        to=membership.email,
        template="registration_refused",
        context={"membership": membership, "operator": settings.PORTAL_OPERATOR_NAME, "reason": reason},
    )
    return membership


class StructureError(Exception):
    """A structure the user cannot add (French message)."""


REATTACHABLE = [MembershipStatus.DETACHED, MembershipStatus.LAPSED, MembershipStatus.REFUSED]


@transaction.atomic
def attach_structure(*, user, establishment: Establishment, request=None) -> Membership:
    """ "Ajouter une structure": attach a user to an organisation from their space, and apply the
    onboarding rules as for a signup (the organisation locked while they decide). A structure the
    user left, whose claim lapsed or that refused them may be added again; the function is asked
    for later (organisations/profile.py)."""
    from accounts.services import notify_registration
    from organisations.delegation import lock_organisation
    from organisations.onboarding import decide

    lock_organisation(establishment.legal_unit_id)
    membership = (
        Membership.objects.select_for_update()
        .filter(user=user, legal_unit_id=establishment.legal_unit_id)
        .first()
    )
    if membership is not None and membership.status not in REATTACHABLE:
        raise StructureError(
            _("Vous êtes déjà rattaché à %(organisation)s (%(status)s).")
            % {"organisation": establishment.display_name, "status": membership.get_status_display()}
        )
    decision = decide(establishment=establishment, email=user.email)
    membership = membership or Membership(user=user, legal_unit_id=establishment.legal_unit_id)
    membership.legal_unit = establishment.legal_unit
    membership.establishment = establishment
    membership.status = decision.status
    membership.rule = decision.rule
    membership.is_admin = False
    membership.category = membership.function = None
    membership.title = ""
    membership.departement = establishment.departement
    membership.address = establishment.street_address
    membership.address_complement = establishment.address_complement
    membership.postal_code = establishment.postal_code
    membership.city = establishment.city
    membership.email = user.email
    membership.phone_landline = user.phone_landline
    membership.phone_mobile = user.phone_mobile
    membership.cgu_version = settings.PORTAL_CGU_VERSION
    membership.decided_at = timezone.now() if decision.status == MembershipStatus.APPROVED else None
    membership.decided_by = None
    membership.refusal_reason = membership.deactivation_reason = ""
    membership.save()
    audit.record(
        "structure.attached",
        actor=user,
        target=membership,
        request=request,
        details={"rule": decision.rule, "status": decision.status, "siret": establishment.siret},
    )
    notify_registration(membership, request=request)
    return membership
