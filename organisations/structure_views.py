"""The member's pages about each of their structures (DESIGN §4): /espace/structures/<pk>/…

The pk is one of the logged-in user's memberships; anyone else's, or one the user has removed,
is a 404, looked up before the method is checked. The changes are organisations.profile's.
"""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_safe

from accounts.validators import display_phone
from habilitations.models import Service
from organisations import profile
from organisations.enums import MembershipStatus
from organisations.models import Membership
from organisations.profile import ProfileError
from organisations.structure_forms import EmailCodeForm, EmailForm, FunctionForm, PhoneForm


def member_structure_view(view):
    """The view gets the user's own membership named by the URL's pk."""

    @login_required
    @never_cache
    @wraps(view)
    def wrapper(request, pk):
        membership = get_object_or_404(
            Membership.objects.select_related("legal_unit", "establishment", "category", "function").exclude(
                status=MembershipStatus.DETACHED
            ),
            pk=pk,
            user=request.user,
        )
        return view(request, membership)

    return wrapper


def _to_detail(membership: Membership):
    return redirect("structures:detail", pk=membership.pk)


def _edit_page(request, membership: Membership, form, *, title: str, template: str, **context):
    context = {
        "title": title,
        "membership": membership,
        "organisation": profile.organisation_name(membership),
        "form": form,
        **context,
    }
    return render(request, f"organisations/structure/{template}", context)


@member_structure_view
@require_safe
def detail(request, membership):
    pending = profile.pending_email_change(membership)
    context = {
        "title": profile.organisation_name(membership),
        "membership": membership,
        "organisation": profile.organisation_name(membership),
        "client_numbers": profile.client_numbers(membership),
        "phone_landline": display_phone(membership.phone_landline),
        "phone_mobile": display_phone(membership.phone_mobile),
        "pending_email": pending if pending is not None and profile.is_usable(pending) else None,
        "services_needing_function": list(
            Service.objects.filter(is_active=True, requires_function=True).values_list("name", flat=True)
        ),
    }
    return render(request, "organisations/structure/detail.html", context)


@member_structure_view
@require_http_methods(["GET", "POST"])
def change_phone(request, membership):
    initial = {
        "phone_landline": display_phone(membership.phone_landline),
        "phone_mobile": display_phone(membership.phone_mobile),
    }
    form = PhoneForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_valid():
        try:
            changed = profile.change_phone(
                membership=membership,
                by=request.user,
                phone_landline=form.cleaned_data["phone_landline"],
                phone_mobile=form.cleaned_data["phone_mobile"],
                request=request,
            )
        except ProfileError as error:
            form.add_error(None, error.message)
        else:
            if changed:
                messages.success(
                    request, _("Votre numéro de téléphone est modifié ; un courriel vous le confirme.")
                )
            else:
                messages.info(request, _("Aucun changement : vos numéros de téléphone restent les mêmes."))
            return _to_detail(membership)
    return _edit_page(
        request, membership, form, title=_("Modifier mon numéro de téléphone"), template="phone.html"
    )


@member_structure_view
@require_http_methods(["GET", "POST"])
def change_function(request, membership):
    form = FunctionForm(
        request.POST if request.method == "POST" else None, initial={"function": membership.function_id}
    )
    if form.is_valid():
        try:
            changed = profile.change_function(
                membership=membership,
                by=request.user,
                function=form.cleaned_data["function"],
                request=request,
            )
        except ProfileError as error:
            form.add_error("function", error.message)
        else:
            if changed:
                messages.success(request, _("Votre fonction est modifiée ; un courriel vous le confirme."))
            else:
                messages.info(request, _("Aucun changement : votre fonction reste la même."))
            return _to_detail(membership)
    return _edit_page(request, membership, form, title=_("Modifier ma fonction"), template="function.html")


@member_structure_view
@require_http_methods(["GET", "POST"])
def change_email(request, membership):
    form = EmailForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            profile.request_email_change(
                membership=membership, by=request.user, email=form.cleaned_data["email"], request=request
            )
        except ProfileError as error:
            form.add_error("email", error.message)
        else:
            minutes = settings.PORTAL_EMAIL_CODE["ttl_minutes"]
            messages.info(
                request,
                ngettext(
                    "Un code de confirmation vient d'être envoyé à %(email)s. Il est valable %(minutes)d minute.",
                    "Un code de confirmation vient d'être envoyé à %(email)s. Il est valable %(minutes)d minutes.",
                    minutes,
                )
                % {"email": form.cleaned_data["email"], "minutes": minutes},
            )
            return redirect("structures:email_confirm", pk=membership.pk)
    pending = profile.pending_email_change(membership)
    return _edit_page(
        request,
        membership,
        form,
        title=_("Modifier mon adresse électronique"),
        template="email.html",
        pending_email=pending if pending is not None and profile.is_usable(pending) else None,
    )


@member_structure_view
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def confirm_email(request, membership):
    pending = profile.pending_email_change(membership)
    if pending is None:
        messages.info(request, _("Aucun changement d'adresse électronique n'attend de confirmation."))
        return redirect("structures:email", pk=membership.pk)
    form = EmailCodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        result = profile.confirm_email_change(
            membership=membership, by=request.user, code=form.cleaned_data["code"], request=request
        )
        if result.changed:
            messages.success(
                request,
                _(
                    "Votre adresse électronique est désormais %(email)s ; votre ancienne adresse est "
                    "prévenue du changement."
                )
                % {"email": result.email},
            )
            return _to_detail(membership)
        if result.spent:
            form.add_error("code", _("Ce code n'est plus valable : demandez un nouveau code."))
        elif result.remaining:
            form.add_error(
                "code",
                ngettext(
                    "Code incorrect. Il vous reste %(remaining)d essai.",
                    "Code incorrect. Il vous reste %(remaining)d essais.",
                    result.remaining,
                )
                % {"remaining": result.remaining},
            )
        else:
            form.add_error(
                "code", _("Code incorrect. Ce code n'est plus valable : demandez un nouveau code.")
            )
        pending.refresh_from_db()
    return _edit_page(
        request,
        membership,
        form,
        title=_("Confirmer ma nouvelle adresse électronique"),
        template="email_confirm.html",
        pending=pending,
        usable=profile.is_usable(pending),
    )


@member_structure_view
@require_http_methods(["GET", "POST"])
def detach(request, membership):
    if request.method == "POST":
        try:
            profile.detach_structure(membership=membership, by=request.user, request=request)
        except ProfileError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _(
                    "La structure %(organisation)s est supprimée de votre espace, et vos droits dans "
                    "cette structure sont désactivés ; un courriel vous le confirme."
                )
                % {"organisation": profile.organisation_name(membership)},
            )
            return redirect("dashboard")
    return _edit_page(
        request,
        membership,
        None,
        title=_("Supprimer la structure %(organisation)s")
        % {"organisation": profile.organisation_name(membership)},
        template="detach.html",
    )
