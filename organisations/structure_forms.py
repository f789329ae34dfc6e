"""The forms of the member's pages about their structures (organisations/structure_views.py)."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.forms import EmailedCodeForm
from accounts.validators import normalize_phone, validate_professional_email
from organisations.lists import active_lists
from organisations.models import Function
from portal.forms import PortalForm


class PhoneForm(PortalForm):
    phone_landline = forms.CharField(
        label=_("Téléphone fixe"),
        max_length=30,
        help_text=_("Format attendu : 01 23 45 67 89"),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    phone_mobile = forms.CharField(
        label=_("Téléphone portable"),
        max_length=30,
        required=False,
        help_text=_("Format attendu : 06 12 34 56 78"),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def clean_phone_landline(self):
        return normalize_phone(self.cleaned_data["phone_landline"])

    def clean_phone_mobile(self):
        value = self.cleaned_data["phone_mobile"]
        return normalize_phone(value) if value.strip() else ""


class EmailForm(PortalForm):
    email = forms.EmailField(
        label=_("Nouvelle adresse électronique professionnelle"),
        max_length=254,
        help_text=_(
            "Un code de confirmation y sera envoyé : l'adresse actuelle reste en vigueur tant que "
            "vous ne l'avez pas saisi. Format attendu : nom@domaine.fr"
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean_email(self):
        value = self.cleaned_data["email"].strip().lower()
        validate_professional_email(value)
        return value


class EmailCodeForm(EmailedCodeForm):
    def code_help_text(self, length: int) -> str:
        return ngettext(
            "Le code à %(length)d chiffre envoyé à votre nouvelle adresse.",
            "Le code à %(length)d chiffres envoyé à votre nouvelle adresse.",
            length,
        ) % {"length": length}


class FunctionForm(PortalForm):
    """The function in the structure, among the active ones, grouped by category (as in the
    signup wizard's first step): choosing it sets the category too."""

    function = forms.ModelChoiceField(
        label=_("Fonction"),
        queryset=Function.objects.none(),
        help_text=_("Parmi les fonctions-type proposées, laquelle vous correspond le mieux ?"),
        error_messages={"required": _("Choisissez votre fonction dans la liste.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["function"].queryset = Function.objects.filter(
            is_active=True, category__is_active=True
        ).select_related("category")
        self.fields["function"].choices = [
            ("", _("Sélectionnez votre fonction")),
            *active_lists().functions_by_category,
        ]
