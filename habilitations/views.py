"""The member's own space: their organisations, their services and where each request stands."""

from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.shortcuts import render
from django.utils.translation import gettext as _

from habilitations.enums import HabilitationStatus
from organisations.delegation import admin_role_available
from organisations.enums import OPEN_CLAIM_STATUSES, MembershipStatus
from organisations.forms import ActivationCodeForm
from organisations.models import AdminClaim


@login_required
def dashboard(request):
    # The structures and their services in one query, as the page shows them (model rows with
    # their dozens of columns, then a second query for the services, cost twice as much).
    memberships = {}
    buttons = {}
    for row in (
        request.user.memberships.exclude(status=MembershipStatus.DETACHED)
        # Whether an admin claim waits for its code; the claims are read only if one does.
        .annotate(
            has_open_claim=Exists(
                AdminClaim.objects.filter(membership=OuterRef("pk"), status__in=OPEN_CLAIM_STATUSES)
            )
        )
        .order_by(
            "legal_unit__denomination",
            "pk",
            "habilitations__service__position",
            "habilitations__service__name",
        )
        .values(
            "pk",
            "legal_unit_id",
            "legal_unit__denomination",
            "establishment_id",
            "status",
            "is_admin",
            "title",
            "refusal_reason",
            "has_open_claim",
            "habilitations__status",
            "habilitations__reason",
            "habilitations__service_id",
            "habilitations__service__name",
            "habilitations__service__is_active",
        )
    ):
        membership = memberships.get(row["pk"])
        if membership is None:
            membership = memberships[row["pk"]] = {
                "pk": row["pk"],
                "legal_unit_id": row["legal_unit_id"],
                "denomination": row["legal_unit__denomination"],
                "establishment_id": row["establishment_id"],
                "status": row["status"],
                "status_label": MembershipStatus(row["status"]).label,
                "is_admin": row["is_admin"],
                "title": row["title"],
                "refusal_reason": row["refusal_reason"],
                "has_open_claim": row["has_open_claim"],
                "services": [],
            }
        service_id, status = row["habilitations__service_id"], row["habilitations__status"]
        if service_id is None:
            continue  # a structure without services
        name = row["habilitations__service__name"]
        membership["services"].append(
            {
                "name": name,
                "status": status,
                "status_label": HabilitationStatus(status).label,
                "reason": row["habilitations__reason"],
            }
        )
        # The buttons of the services the user may open: validated, in a structure that counts.
        if (
            status == HabilitationStatus.VALIDATED
            and row["habilitations__service__is_active"]
            and membership["status"] == MembershipStatus.APPROVED
        ):
            buttons.setdefault(service_id, {"pk": service_id, "name": name})
    memberships = list(memberships.values())
    claiming = [membership["pk"] for membership in memberships if membership["has_open_claim"]]
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
            "services": membership["services"],
            "claim": claims.get(membership["legal_unit_id"]),
            "may_claim": membership["status"] == MembershipStatus.PENDING_ADMIN
            and admin_role_available(membership["legal_unit_id"]),
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
