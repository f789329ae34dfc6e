"""A member's pages about one of their organisations: the admin role, asked for and activated."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from organisations import delegation
from organisations.enums import OPEN_CLAIM_STATUSES, MembershipStatus
from organisations.forms import ActivationCodeForm, AdminRoleForm
from organisations.models import AdminClaim, Membership
from organisations.services import StructureError, attach_structure


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def admin_activation(request, siren):
    """The applicant types the code of the letter sent to their legal representative."""
    if "\x00" in siren:  # no organisation has such a SIREN, and PostgreSQL refuses to look it up
        raise Http404
    claim = get_object_or_404(
        AdminClaim.objects.select_related("legal_unit"),
        legal_unit_id=siren,
        membership__user=request.user,
        status__in=OPEN_CLAIM_STATUSES,
    )
    form = ActivationCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        result = delegation.activate_admin_role(
            user=request.user, siren=siren, code=form.cleaned_data["code"], request=request
        )
        if result.membership is not None:
            messages.success(
                request,
                _("Votre code est accepté : vous êtes l'administrateur de %(organisation)s.")
                % {"organisation": claim.legal_unit.denomination},
            )
            return redirect("gestion:home", siren=siren)
        form.add_error("code", result.error)
        claim.refresh_from_db()
    context = {"form": form, "claim": claim, "title": _("Activer mon rôle d'administrateur")}
    return render(request, "organisations/admin_activation.html", context)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def admin_role_offer(request, siren):
    """A member waiting in an organisation without admin asks for the role (rule R3)."""
    if "\x00" in siren:  # no organisation has such a SIREN, and PostgreSQL refuses to look it up
        raise Http404
    membership = get_object_or_404(
        Membership.objects.select_related("legal_unit"),
        legal_unit_id=siren,
        user=request.user,
        status__in=[MembershipStatus.PENDING_ADMIN, MembershipStatus.APPROVED],
    )
    if membership.is_admin:
        raise Http404
    form = AdminRoleForm(request.POST if request.method == "POST" else None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            delegation.claim_admin_role(membership=membership, request=request)
        except delegation.DelegationError as refusal:
            error = str(refusal)
        else:
            messages.success(
                request,
                _(
                    "Votre demande est enregistrée : un courrier avec votre code d'activation part chez votre représentant légal."
                ),
            )
            return redirect("dashboard")
    context = {
        "form": form,
        "membership": membership,
        "available": delegation.admin_role_available(siren),
        "error": error,
        "title": _("Devenir administrateur de ma structure"),
    }
    return render(request, "organisations/admin_role_offer.html", context)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def add_structure(request):
    """ "Ajouter une structure": the organisation search of the wizard's step 2, then the rules."""
    from accounts.signup_forms import OrganisationForm, organisation_search_context

    searching = request.method == "POST" and (
        request.POST.get("action") == "search" or "page" in request.POST
    )
    form = OrganisationForm(request.POST if request.method == "POST" else None, prefix="organisme")
    if request.method == "POST" and not searching and form.is_valid():
        try:
            membership = attach_structure(
                user=request.user, establishment=form.establishment, request=request
            )
        except StructureError as error:
            messages.error(request, str(error))
            return redirect("dashboard")
        if membership.status == MembershipStatus.PENDING_ADMIN and delegation.admin_role_available(
            membership.legal_unit_id
        ):
            return redirect("admin_role_offer", siren=membership.legal_unit_id)
        messages.success(
            request,
            _("%(organisation)s est ajoutée à vos structures : %(status)s.")
            % {"organisation": form.establishment.display_name, "status": membership.get_status_display()},
        )
        return redirect("dashboard")
    if searching:
        form.is_valid()
        form.errors.pop("siret", None)  # the search's own errors replace "choose an establishment"
    context = {
        "form": form,
        "title": _("Ajouter une structure"),
        **organisation_search_context(
            form,
            data=form.data,
            page=request.POST.get("page", 1),
            search_requested=searching,
            chosen=None,
        ),
    }
    return render(request, "organisations/add_structure.html", context)
