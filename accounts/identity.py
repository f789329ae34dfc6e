"""Identité et sécurité (DESIGN §4; reference bdt-espace-personnel-habilitations.txt, "Modification
des informations personnelles"): the user changes their civilité, first name and last name, sees
their identifiant and the account's address, and finds the password page with the policy's rules.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.access import absolute_url
from accounts.enums import Civilite
from accounts.passwords import password_expires_at, password_hints
from mailings.services import queue_email
from portal import audit
from portal.forms import PortalForm

IDENTITY_FIELDS = ("civilite", "first_name", "last_name")
FIELD_LABELS = {
    "civilite": gettext_lazy("Civilité"),
    "first_name": gettext_lazy("Prénom"),
    "last_name": gettext_lazy("Nom"),
}


class IdentityForm(PortalForm):
    civilite = forms.ChoiceField(
        label=FIELD_LABELS["civilite"],
        choices=Civilite.choices,
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("Indiquez votre civilité.")},
    )
    first_name = forms.CharField(
        label=FIELD_LABELS["first_name"],
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
        error_messages={"required": gettext_lazy("Saisissez votre prénom.")},
    )
    last_name = forms.CharField(
        label=FIELD_LABELS["last_name"],
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
        error_messages={"required": gettext_lazy("Saisissez votre nom.")},
    )


def _display(name: str, value: str) -> str:
    if name == "civilite":
        return str(Civilite(value).label) if value in Civilite.values else value
    return value


@transaction.atomic
def update_identity(*, user, civilite: str, first_name: str, last_name: str, request=None) -> dict:
    """Set the user's civilité and names; audit the old and new values and tell the user by
    e-mail. Returns what changed ({field: {"old", "new"}}), empty (and nothing recorded) if nothing."""
    user = get_user_model()._default_manager.select_for_update().get(pk=user.pk)
    new = {"civilite": civilite, "first_name": first_name, "last_name": last_name}
    changes = {
        name: {"old": getattr(user, name), "new": value}
        for name, value in new.items()
        if getattr(user, name) != value
    }
    if not changes:
        return changes
    for name, value in new.items():
        setattr(user, name, value)
    user.save(update_fields=list(changes))
    audit.record("account.identity_changed", actor=user, target=user, request=request, details=changes)
    queue_email(
        to=user.email,
        template="identity_changed",
        context={
            "user": user,
            "changes": [
                {
                    "label": str(FIELD_LABELS[name]),
                    "old": _display(name, change["old"]),
                    "new": _display(name, change["new"]),
                }
                for name, change in changes.items()
            ],
            "changed_at": timezone.localtime(),
            "identity_url": absolute_url(reverse("identity"), request),
            "reset_url": absolute_url(reverse("password_reset"), request),
            "contact_email": settings.PORTAL_CONTACT_EMAIL,
            "operator_name": settings.PORTAL_OPERATOR_NAME,
        },
    )
    return changes


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def identity(request):
    user = request.user
    form = IdentityForm(
        request.POST if request.method == "POST" else None,
        initial={name: getattr(user, name) for name in IDENTITY_FIELDS},
    )
    if form.is_valid():
        changes = update_identity(
            user=user,
            civilite=form.cleaned_data["civilite"],
            first_name=form.cleaned_data["first_name"],
            last_name=form.cleaned_data["last_name"],
            request=request,
        )
        if changes:
            messages.success(request, _("Votre identité est modifiée ; un courriel vous le confirme."))
        else:
            messages.info(request, _("Aucun changement : votre identité reste la même."))
        return redirect("identity")
    context = {
        "title": _("Identité et sécurité"),
        "form": form,
        "account": user,
        "password_hints": password_hints(),
        "password_expires_at": password_expires_at(user),
    }
    return render(request, "accounts/identity.html", context)
