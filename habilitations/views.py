"""The member's own space: their organisations, their services and where each request stands."""

from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.shortcuts import render
from django.utils.translation import gettext as _

from habilitations.enums import HabilitationStatus
from habilitations.models import Habilitation
from organisations.delegation import admin_role_available
from organisations.enums import OPEN_CLAIM_STATUSES, MembershipStatus
from organisations.forms import ActivationCodeForm
from organisations.models import AdminClaim


@login_required
def dashboard(request):
    memberships = list(
        request.user.memberships.exclude(status=MembershipStatus.DETACHED)
        # What the page shows, not the whole rows (the legal unit's and its structure's dozens of
        # columns cost more to build than the rest of the page).
        .select_related("legal_unit")
        .only(
            "legal_unit__denomination",
            "establishment_id",
            "status",
            "is_admin",
            "title",
            "refusal_reason",
            "user_id",
        )
        # Whether an admin claim waits for its code: read with the structures, the claims only
        # if there is one.
        .annotate(
            has_open_claim=Exists(
                AdminClaim.objects.filter(membership=OuterRef("pk"), status__in=OPEN_CLAIM_STATUSES)
            )
        )
        .order_by("legal_unit__denomination")
    )
    ids = [membership.pk for membership in memberships]
    # The services of every structure in one query, as the page shows them.
    services = {membership_id: [] for membership_id in ids}
    buttons = {}
    approved = {membership.pk for membership in memberships if membership.status == MembershipStatus.APPROVED}
    for membership_id, status, reason, service_id, name, is_active in (
        Habilitation.objects.filter(membership_id__in=ids)
        .order_by("service__position", "service__name")
        .values_list("membership_id", "status", "reason", "service_id", "service__name", "service__is_active")
    ):
        services[membership_id].append(
            {
                "name": name,
                "status": status,
                "status_label": HabilitationStatus(status).label,
                "reason": reason,
            }
        )
        # The buttons of the services the user may open: validated, in a structure that counts.
        if status == HabilitationStatus.VALIDATED and is_active and membership_id in approved:
            buttons.setdefault(service_id, {"pk": service_id, "name": name})
    claiming = [membership.pk for membership in memberships if membership.has_open_claim]
    claims = {
        claim.legal_unit_id: claim
        for claim in (
            AdminClaim.objects.filter(membership_id__in=claiming, status__in=OPEN_CLAIM_STATUSES)
            if claiming
            else []
        )
    }
    rows = [
        {
            "membership": membership,
            "services": services[membership.pk],
            "claim": claims.get(membership.legal_unit_id),
            "may_claim": membership.status == MembershipStatus.PENDING_ADMIN
            and admin_role_available(membership.legal_unit_id),
        }
        for membership in memberships
    ]
    context = {
        "rows": rows,
        "service_buttons": list(buttons.values()),  # in the services' order
        # A pending claim is what the user must act on first: its code form comes at the top.
        "activation_form": ActivationCodeForm() if claims else None,
        "title": _("Tableau de bord"),
    }
    return render(request, "habilitations/dashboard.html", context)
