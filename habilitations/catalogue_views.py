"""The catalogue of services, requests for them, and access to a granted one (/espace/services/…).

Reference: bdt-espace-personnel-habilitations.txt, "Gestion des services", "Demande d'habilitation"
(CAS 1 and CAS 2) and "Accès à l'espace prêt". A structure named in the URL must be one of the
user's own, and a service opened must be granted to them: anything else is a 404, which does not
tell whether it exists.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from habilitations import services
from habilitations.enums import HabilitationStatus
from habilitations.forms import ConditionsForm
from habilitations.models import Habilitation, Service
from habilitations.services import FunctionRequired, Route, ServiceRequestError
from organisations.enums import MembershipStatus
from organisations.models import Membership
from portal.security import allow_sources


def function_url(membership: Membership) -> str:
    """The page of the structure where the member gives their function."""
    return reverse("structures:function", kwargs={"pk": membership.pk})


@login_required
@require_safe
def catalogue(request):
    """Every offered service, and for each of the user's structures where their access stands."""
    memberships = list(
        request.user.memberships.filter(status__in=services.REQUESTABLE_STATUSES)
        .select_related("legal_unit")
        .order_by("legal_unit__denomination", "pk")
    )
    held = {
        (habilitation.membership_id, habilitation.service_id): habilitation
        for habilitation in Habilitation.objects.filter(membership__in=memberships)
    }
    function_urls = {membership.pk: function_url(membership) for membership in memberships}
    rows = [
        {
            "service": service,
            "structures": [
                {
                    "membership": membership,
                    "habilitation": held.get((membership.pk, service.pk)),
                    "needs_function": services.needs_function(membership, service),
                    "function_url": function_urls[membership.pk],
                }
                for membership in memberships
            ],
        }
        for service in Service.objects.filter(is_active=True)
    ]
    context = {"rows": rows, "memberships": memberships, "title": _("Tous les services")}
    return render(request, "habilitations/catalogue.html", context)


def _own_membership(request) -> Membership:
    """The structure named by ?structure=, if it is one of the user's."""
    try:
        pk = int(request.GET.get("structure", ""))
    except ValueError:
        raise Http404 from None
    return get_object_or_404(
        Membership.objects.select_related("legal_unit", "user"), pk=pk, user=request.user
    )


SUCCESS_MESSAGES = {
    Route.ORGANISATION_ADMIN: gettext_lazy(
        "Votre demande d'accès au service « %(service)s » est envoyée à l'administrateur de votre "
        "structure. Vous serez informé par courriel de sa décision."
    ),
    Route.OWN_DECISION: gettext_lazy(
        "Votre demande d'accès au service « %(service)s » est enregistrée : en tant qu'administrateur "
        "de la structure, accordez-vous le service ci-dessous."
    ),
    Route.AWAITING_LETTER: gettext_lazy(
        "Votre demande d'accès au service « %(service)s » est enregistrée. Elle sera présentée à "
        "l'administrateur de votre structure dès qu'il aura activé son rôle."
    ),
    Route.OWN_LETTER: gettext_lazy(
        "Votre demande d'accès au service « %(service)s » est enregistrée. Vous pourrez vous "
        "l'accorder dès que vous aurez activé votre rôle d'administrateur avec le code du courrier."
    ),
    Route.ADMIN_ROLE_OFFER: gettext_lazy(
        "Votre demande d'accès au service « %(service)s » est enregistrée. Étant le premier "
        "utilisateur de votre structure, vous allez en devenir l'administrateur : demandez ce rôle "
        "ci-dessous."
    ),
    Route.STAFF: gettext_lazy(
        "Votre demande d'accès au service « %(service)s » est transmise à l'opérateur. Vous serez "
        "informé par courriel de sa décision."
    ),
}


def _already_message(habilitation: Habilitation) -> str:
    if habilitation.status == HabilitationStatus.VALIDATED:
        return _("Vous avez déjà accès au service « %(service)s » dans cette structure.")
    return _("Votre demande d'accès au service « %(service)s » est déjà en cours de validation.")


def _after_request(request, result: services.ServiceRequest):
    membership = result.habilitation.membership
    name = {"service": result.habilitation.service.name}
    if not result.changed:
        messages.info(request, _already_message(result.habilitation) % name)
    else:
        messages.success(request, SUCCESS_MESSAGES[result.route] % name)
    if result.route == Route.ADMIN_ROLE_OFFER and result.habilitation.status == HabilitationStatus.REQUESTED:
        return redirect("admin_role_offer", siren=membership.legal_unit_id)
    if result.route == Route.OWN_DECISION and result.changed:
        return redirect("gestion:member", siren=membership.legal_unit_id, pk=membership.pk)
    return redirect("services:catalogue")


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def request_service(request, pk):
    """GET: what asking for the service means ("Demande d'habilitation"); POST: ask for it."""
    membership = _own_membership(request)
    service = get_object_or_404(Service, pk=pk, is_active=True)
    error = ""
    if request.method == "POST":
        try:
            result = services.request_service(
                membership=membership, service=service, by=request.user, request=request
            )
        except FunctionRequired:
            pass  # the page below says so, with the link to give the function
        except ServiceRequestError as refusal:
            error = refusal.message
        else:
            return _after_request(request, result)
    context = {
        "service": service,
        "membership": membership,
        "organisation": membership.legal_unit.denomination or membership.legal_unit_id,
        "habilitation": Habilitation.objects.filter(membership=membership, service=service).first(),
        "refusal": error or services.membership_refusal(membership),
        "needs_function": services.needs_function(membership, service),
        "function_url": function_url(membership),
        "route": services.request_route(membership),
        "title": _("Demande d'habilitation"),
    }
    return render(request, "habilitations/request.html", context)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def open_service(request, pk):
    """Open a granted service: its current conditions particulières accepted first, then the
    redirect to the service's own address (and only there)."""
    service = get_object_or_404(Service, pk=pk)
    granted = Habilitation.objects.filter(
        service=service,
        status=HabilitationStatus.VALIDATED,
        membership__user=request.user,
        membership__status=MembershipStatus.APPROVED,
    )
    if not granted.exists():
        raise Http404
    if not service.url:
        return render(request, "habilitations/opening_soon.html", {"service": service, "title": service.name})
    conditions = services.current_conditions(service)
    if conditions is None or services.has_accepted(request.user, conditions):
        return HttpResponseRedirect(service.url)
    form = ConditionsForm(request.POST if request.method == "POST" else None, conditions=conditions)
    if request.method == "POST":
        if form.is_valid():
            services.accept_conditions(user=request.user, conditions=conditions, request=request)
            return HttpResponseRedirect(service.url)
        if form.has_error("version"):
            # A new version was published since the page was shown: this one is to be read.
            messages.warning(request, form.errors["version"][0])
            form = ConditionsForm(conditions=conditions)
    context = {
        "service": service,
        "conditions": conditions,
        "form": form,
        "title": _("Conditions particulières d'utilisation du service %(service)s") % {"service": service},
    }
    response = render(request, "habilitations/conditions.html", context)
    # Accepting redirects to the service: the browser checks that redirect against form-action.
    return allow_sources(response, "form-action", service.url)
