"""The organisation admin's pages (DESIGN §6): /structures/<siren>/gestion/…

Every page is for the approved admin of the organisation named in the URL; anyone else logged in
gets a 404, which does not tell whether the organisation exists or has members. The member or
request named in the URL is looked up within that organisation, before the method is checked,
for the same reason. Decisions are the services' of organisations.members.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from habilitations.enums import HabilitationStatus
from habilitations.models import Habilitation
from organisations import members
from organisations.enums import MembershipStatus
from organisations.gestion_forms import ApprovalForm, DeactivationForm, MemberServicesForm, RefusalForm
from organisations.members import MemberError
from organisations.models import Membership

# The memberships the admin's pages list; the others (waiting for staff or for a letter, refused,
# lapsed) are not the admin's to decide.
LISTED_STATUSES = [MembershipStatus.PENDING_ADMIN, MembershipStatus.APPROVED, MembershipStatus.DEACTIVATED]


def _organisation_admin(user, siren: str) -> Membership:
    if "\x00" in siren:  # no organisation has such a SIREN, and PostgreSQL refuses to look it up
        raise Http404
    return get_object_or_404(
        Membership.objects.select_related("legal_unit"),
        legal_unit_id=siren,
        user=user,
        is_admin=True,
        status=MembershipStatus.APPROVED,
    )


def _member(admin: Membership, pk: int) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user", "category", "function", "establishment"),
        pk=pk,
        legal_unit_id=admin.legal_unit_id,
    )


def _service_request(admin: Membership, pk: int) -> Habilitation:
    return get_object_or_404(
        Habilitation.objects.select_related("service", "membership__user"),
        pk=pk,
        membership__legal_unit_id=admin.legal_unit_id,
    )


def organisation_admin_view(lookup=None):
    """The view gets the admin's membership, and the object ``lookup`` finds for the URL's pk."""

    def decorator(view):
        @login_required
        @never_cache
        @wraps(view)
        def wrapper(request, siren, pk=None):
            admin = _organisation_admin(request.user, siren)
            if lookup is None:
                return view(request, admin)
            return view(request, admin, lookup(admin, pk))

        return wrapper

    return decorator


def _to_member(member: Membership):
    return redirect("gestion:member", siren=member.legal_unit_id, pk=member.pk)


def _to_home(admin: Membership):
    return redirect("gestion:home", siren=admin.legal_unit_id)


def _back(request, admin: Membership, member: Membership):
    """Back where the admin decided: the home page's list of requests, or the member's page."""
    return _to_home(admin) if request.POST.get("return_to") == "home" else _to_member(member)


# Pages -------------------------------------------------------------------------------------------


@organisation_admin_view()
@require_safe
def home(request, admin):
    memberships = list(
        Membership.objects.filter(legal_unit_id=admin.legal_unit_id, status__in=LISTED_STATUSES)
        .select_related("user", "function")
        .prefetch_related(Prefetch("habilitations", queryset=Habilitation.objects.select_related("service")))
        .order_by("user__last_name", "user__first_name", "pk")
    )
    pending = sorted(
        (membership for membership in memberships if membership.status == MembershipStatus.PENDING_ADMIN),
        key=lambda membership: membership.created_at,
    )
    listed = [membership for membership in memberships if membership.status != MembershipStatus.PENDING_ADMIN]
    requests = sorted(
        (
            habilitation
            for membership in listed
            if membership.status == MembershipStatus.APPROVED
            for habilitation in membership.habilitations.all()
            if habilitation.status == HabilitationStatus.REQUESTED
        ),
        key=lambda habilitation: habilitation.created_at,
    )
    organisation = admin.legal_unit
    context = {
        "title": _("Gestion de la structure %(name)s")
        % {"name": organisation.denomination or organisation.siren},
        "admin": admin,
        "organisation": organisation,
        "pending": pending,
        "requests": requests,
        "members": listed,
    }
    return render(request, "organisations/gestion/home.html", context)


def _member_page(request, admin, member, *, services_form=None, deactivation_form=None):
    habilitations = list(member.habilitations.select_related("service"))
    decidable = member.status in (MembershipStatus.PENDING_ADMIN, MembershipStatus.APPROVED)
    if services_form is None and decidable:
        form_class = ApprovalForm if member.status == MembershipStatus.PENDING_ADMIN else MemberServicesForm
        services_form = form_class(habilitations=habilitations)
    if deactivation_form is None and member.status == MembershipStatus.APPROVED and not member.is_admin:
        deactivation_form = DeactivationForm()
    context = {
        "title": _("%(user)s — gestion de la structure") % {"user": member.user},
        "admin": admin,
        "organisation": admin.legal_unit,
        "member": member,
        "habilitations": habilitations,
        "requests": [h for h in habilitations if h.status == HabilitationStatus.REQUESTED],
        "services_form": services_form if decidable else None,
        "deactivation_form": deactivation_form,
        "error_form": next(
            (form for form in (services_form, deactivation_form) if form is not None and form.errors), None
        ),
    }
    return render(request, "organisations/gestion/member.html", context)


@organisation_admin_view(lookup=_member)
@require_safe
def member_detail(request, admin, member):
    return _member_page(request, admin, member)


# Registrations waiting for the admin -------------------------------------------------------------


@organisation_admin_view(lookup=_member)
@require_POST
def approve(request, admin, member):
    form = ApprovalForm(request.POST, habilitations=list(member.habilitations.all()))
    if not form.is_valid():
        return _member_page(request, admin, member, services_form=form)
    try:
        members.approve_member(
            membership=member,
            by=request.user,
            services=form.cleaned_data["services"],
            reason=form.cleaned_data["reason"],
            request=request,
        )
    except MemberError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("L'inscription de %(user)s est validée ; un courriel l'en informe.") % {"user": member.user},
        )
    return _to_member(member)


@organisation_admin_view(lookup=_member)
@require_http_methods(["GET", "POST"])
def refuse(request, admin, member):
    if request.method == "GET" and member.status != MembershipStatus.PENDING_ADMIN:
        messages.info(request, _("Cette inscription n'attend plus de décision."))
        return _to_member(member)
    form = RefusalForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            members.refuse_member(
                membership=member, by=request.user, reason=form.cleaned_data["reason"], request=request
            )
        except MemberError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("L'inscription de %(user)s est refusée ; un courriel lui donne le motif.")
                % {"user": member.user},
            )
        return _to_member(member)
    context = {
        "title": _("Refuser l'inscription de %(user)s") % {"user": member.user},
        "organisation": admin.legal_unit,
        "member": member,
        "form": form,
    }
    return render(request, "organisations/gestion/refuse_member.html", context)


# Approved members --------------------------------------------------------------------------------


@organisation_admin_view(lookup=_member)
@require_POST
def change_services(request, admin, member):
    form = MemberServicesForm(request.POST, habilitations=list(member.habilitations.all()))
    if not form.is_valid():
        return _member_page(request, admin, member, services_form=form)
    try:
        changes = members.set_member_services(
            membership=member,
            by=request.user,
            services=form.cleaned_data["services"],
            reason=form.cleaned_data["reason"],
            request=request,
        )
    except MemberError as error:
        messages.error(request, error.message)
    else:
        if changes:
            messages.success(
                request,
                _("Les services de %(user)s sont modifiés ; un courriel l'en informe.")
                % {"user": member.user},
            )
        else:
            messages.info(
                request,
                _("Aucun changement : les services de %(user)s restent les mêmes.") % {"user": member.user},
            )
    return _to_member(member)


@organisation_admin_view(lookup=_member)
@require_POST
def deactivate(request, admin, member):
    form = DeactivationForm(request.POST)
    if not form.is_valid():
        return _member_page(request, admin, member, deactivation_form=form)
    try:
        members.deactivate_member(
            membership=member,
            by=request.user,
            reason=form.cleaned_data["deactivation_reason"],
            request=request,
        )
    except MemberError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("L'accès de %(user)s est désactivé, ainsi que ses services ; un courriel l'en informe.")
            % {"user": member.user},
        )
    return _to_member(member)


@organisation_admin_view(lookup=_member)
@require_POST
def reactivate(request, admin, member):
    try:
        members.reactivate_member(membership=member, by=request.user, request=request)
    except MemberError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("L'accès de %(user)s est réactivé. Accordez-lui à nouveau les services dont il a besoin.")
            % {"user": member.user},
        )
    return _to_member(member)


@organisation_admin_view(lookup=_member)
@require_http_methods(["GET", "POST"])
def hand_over(request, admin, member):
    if request.method == "POST":
        try:
            members.hand_over_admin_role(
                organisation_admin=admin, to_membership=member, by=request.user, request=request
            )
        except MemberError as error:
            messages.error(request, error.message)
            return _to_member(member)
        messages.success(
            request,
            _("%(user)s est désormais l'administrateur de la structure ; vous n'en gérez plus les accès.")
            % {"user": member.user},
        )
        return redirect("dashboard")
    context = {
        "title": _("Transmettre le rôle d'administrateur à %(user)s") % {"user": member.user},
        "organisation": admin.legal_unit,
        "member": member,
        "eligible": member.status == MembershipStatus.APPROVED and not member.is_admin,
    }
    return render(request, "organisations/gestion/hand_over.html", context)


# Service requests of approved members -----------------------------------------------------------


@organisation_admin_view(lookup=_service_request)
@require_POST
def validate_request(request, admin, habilitation):
    try:
        members.decide_habilitation(habilitation=habilitation, by=request.user, accept=True, request=request)
    except MemberError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(user)s a désormais accès au service « %(service)s » ; un courriel l'en informe.")
            % {"user": habilitation.membership.user, "service": habilitation.service},
        )
    return _back(request, admin, habilitation.membership)


@organisation_admin_view(lookup=_service_request)
@require_http_methods(["GET", "POST"])
def refuse_request(request, admin, habilitation):
    if request.method == "GET" and habilitation.status != HabilitationStatus.REQUESTED:
        messages.info(request, _("Cette demande n'attend plus de décision."))
        return _to_member(habilitation.membership)
    form = RefusalForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            members.decide_habilitation(
                habilitation=habilitation,
                by=request.user,
                accept=False,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except MemberError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _(
                    "La demande du service « %(service)s » de %(user)s est refusée ; un courriel lui donne le motif."
                )
                % {"user": habilitation.membership.user, "service": habilitation.service},
            )
        return _back(request, admin, habilitation.membership)
    context = {
        "title": _("Refuser la demande du service « %(service)s »") % {"service": habilitation.service},
        "organisation": admin.legal_unit,
        "habilitation": habilitation,
        "member": habilitation.membership,
        "form": form,
        "return_to": request.POST.get("return_to") or request.GET.get("return_to", ""),
    }
    return render(request, "organisations/gestion/refuse_request.html", context)
