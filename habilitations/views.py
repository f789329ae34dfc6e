"""The member's own space: their organisations, their services and where each request stands."""

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
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
        .prefetch_related(
            Prefetch(
                "habilitations",
                queryset=Habilitation.objects.select_related("service")
                .only(
                    "membership_id",
                    "status",
                    "reason",
                    "service__name",
                    "service__position",
                    "service__is_active",
                )
                .order_by("service__position", "service__name"),
            )
        )
        .order_by("legal_unit__denomination")
    )
    claims = {
        claim.legal_unit_id: claim
        for claim in AdminClaim.objects.filter(membership__user=request.user, status__in=OPEN_CLAIM_STATUSES)
    }
    rows = []
    for membership in memberships:
        siren = membership.legal_unit_id
        rows.append(
            {
                "membership": membership,
                "claim": claims.get(siren),
                "may_claim": membership.status == MembershipStatus.PENDING_ADMIN
                and admin_role_available(siren),
            }
        )
    # The buttons of the services the user may open: validated, in a structure that counts.
    buttons = {}
    for membership in memberships:
        if membership.status != MembershipStatus.APPROVED:
            continue
        for habilitation in membership.habilitations.all():
            if habilitation.status == HabilitationStatus.VALIDATED and habilitation.service.is_active:
                buttons.setdefault(habilitation.service_id, habilitation.service)
    context = {
        "rows": rows,
        "service_buttons": sorted(buttons.values(), key=lambda service: (service.position, service.name)),
        # A pending claim is what the user must act on first: its code form comes at the top.
        "activation_form": ActivationCodeForm() if claims else None,
        "title": _("Tableau de bord"),
    }
    return render(request, "habilitations/dashboard.html", context)
