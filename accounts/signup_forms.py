"""The four steps of the signup wizard (DESIGN §1; reference anru-creer-son-compte.txt §2)."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.captcha import CaseSensitiveCaptchaField
from accounts.enums import Civilite
from accounts.forms import EmailedCodeForm
from accounts.validators import (
    normalize_phone,
    validate_chosen_identifiant,
    validate_postal_code,
    validate_professional_email,
)
from habilitations.models import Service
from organisations.lists import active_lists
from organisations.models import Category, CategoryFlag, Function
from organisations.referentials import activity_label, departement_choices
from organisations.search import get_searchable, search_by_client_number, search_establishments
from portal.forms import HintedCheckboxSelectMultiple, PortalForm


class FunctionIdentityForm(PortalForm):
    """Étape 1 — Votre fonction et votre identité."""

    category = forms.ModelChoiceField(
        label=_("Catégorie"),
        queryset=Category.objects.none(),
        empty_label=_("Veuillez sélectionner une catégorie…"),
        help_text=_(
            "Choisissez la catégorie qui correspond au rôle qui vous lie à l'opérateur (convention, contrat, délégation…)."
        ),
    )
    function = forms.ModelChoiceField(
        label=_("Fonction"),
        queryset=Function.objects.none(),
        help_text=_("Parmi les fonctions-type proposées, laquelle vous correspond le mieux ?"),
    )
    title = forms.CharField(
        label=_("Titre"),
        max_length=150,
        help_text=_("Quel est votre titre exact dans votre organisme ? (ex : Chargé de mission)"),
    )
    flags = forms.ModelMultipleChoiceField(
        label=_("Précisions"),
        queryset=CategoryFlag.objects.none(),
        required=False,
        widget=HintedCheckboxSelectMultiple,
        template_name=HintedCheckboxSelectMultiple.field_template_name,
    )
    civilite = forms.ChoiceField(label=_("Civilité"), choices=Civilite.choices, widget=forms.RadioSelect)
    first_name = forms.CharField(
        label=_("Prénom"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label=_("Nom"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The choices shown come from the lists each process keeps (organisations.lists); the
        # querysets check what is chosen.
        lists = active_lists()
        self.fields["category"].queryset = Category.objects.filter(is_active=True)
        self.fields["category"].choices = [("", self.fields["category"].empty_label), *lists.categories]
        self.fields["function"].queryset = Function.objects.filter(is_active=True, category__is_active=True)
        # Grouped by category (optgroups): without JavaScript the list still follows the category;
        # with it, static/accounts/signup.js shows only the chosen category's group.
        self.fields["function"].choices = [
            ("", _("Sélectionnez votre fonction")),
            *lists.functions_by_category,
        ]
        # Which categories each box concerns, for signup.js.
        self.flag_categories = {pk: categories for pk, _label, _help, categories in lists.flags}
        if not lists.flags:
            del self.fields["flags"]
            return
        self.fields["flags"].queryset = CategoryFlag.objects.filter(categories__is_active=True).distinct()
        self.fields["flags"].choices = [(pk, label) for pk, label, _help, _categories in lists.flags]
        self.fields["flags"].widget.hints = {str(pk): help_text for pk, _label, help_text, _c in lists.flags}

    def clean(self):
        cleaned = super().clean()
        category, function = cleaned.get("category"), cleaned.get("function")
        if category and function and function.category_id != category.pk:
            self.add_error(
                "function",
                _(
                    "Cette fonction n'appartient pas à la catégorie choisie : choisissez-en une dans la liste de « %(category)s »."
                )
                % {"category": category.name},
            )
        flags = cleaned.get("flags")
        if category and flags:
            allowed = set(category.flags.values_list("pk", flat=True))
            if any(flag.pk not in allowed for flag in flags):
                self.add_error("flags", _("Cette case ne concerne pas la catégorie choisie."))
        return cleaned


class OrganisationForm(PortalForm):
    """Étape 2 — Votre organisme de rattachement: a search, then a choice among the results."""

    query = forms.CharField(
        label=_("Organisme"),
        max_length=200,
        error_messages={"required": _("Saisissez le nom de votre organisme, son SIREN ou son SIRET.")},
        help_text=_(
            "Le nom de l'établissement siège de votre organisme, ou son numéro SIREN (9 chiffres) ou SIRET (14 chiffres)."
        ),
    )
    postal_code = forms.CharField(
        label=_("Code postal"),
        max_length=5,
        required=False,
        help_text=_("Pour limiter les réponses à une commune."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "postal-code"}),
    )
    client_number = forms.CharField(
        label=_("Numéro client"),
        max_length=40,
        required=False,
        help_text=_(
            "Si vous le connaissez : le numéro client de votre organisme, indiqué sur nos courriers."
        ),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    siret = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if settings.PORTAL_CLIENT_NUMBERS:
            # Either the name (or SIREN/SIRET) or the client number finds the organisation.
            self.fields["query"].required = False
        else:
            del self.fields["client_number"]

    def clean_postal_code(self):
        value = self.cleaned_data["postal_code"].strip()
        if value:
            validate_postal_code(value)
        return value

    def clean_siret(self):
        siret = self.cleaned_data["siret"].strip()
        if not siret:
            raise forms.ValidationError(
                _("Recherchez votre organisme puis choisissez son établissement dans la liste.")
            )
        establishment = get_searchable(siret)
        if establishment is None:
            raise forms.ValidationError(
                _(
                    "Cet établissement ne fait pas partie des résultats : recherchez-le puis choisissez-le dans la liste."
                )
            )
        if not establishment.is_active:
            raise forms.ValidationError(
                _("Cet établissement est fermé : choisissez un établissement ouvert de votre organisme.")
            )
        self.establishment = establishment
        return siret


def organisation_search_context(form, *, data, page, search_requested: bool, chosen) -> dict:
    """What the organisation search shows under an OrganisationForm (prefix "organisme"): the
    results of the name, SIREN/SIRET or client number typed, with their errors on the form."""
    prefix = "organisme"
    query = (data.get(f"{prefix}-query") or "").strip()
    postal_code = (data.get(f"{prefix}-postal_code") or "").strip()
    client_number = (
        (data.get(f"{prefix}-client_number") or "").strip() if "client_number" in form.fields else ""
    )
    try:
        page = int(page)
    except (TypeError, ValueError):
        page = 1
    context = {"chosen": chosen, "search_done": False}
    if not (search_requested or not chosen):
        return context
    # A number its field refuses is not looked up (PostgreSQL cannot even compare a NUL character).
    if client_number and not form.errors.get("client_number"):
        results, field = search_by_client_number(client_number, page=page), "client_number"
    elif query and not form.errors.get("postal_code"):
        results, field = search_establishments(query=query, postal_code=postal_code, page=page), "query"
    else:
        if search_requested and not query:
            message = _("Saisissez le nom de votre organisme, son SIREN ou son SIRET.")
            if "client_number" in form.fields:
                message = _(
                    "Saisissez le nom de votre organisme, son SIREN, son SIRET ou votre numéro client."
                )
            form.add_error("query", message)
        return context
    if results.error:
        form.add_error(field, results.error)
    else:
        context["results"] = results
        context["rows"] = [
            {
                "establishment": establishment,
                "departement": establishment.departement,
                "activity": activity_label(establishment.activity),
            }
            for establishment in results.page
        ]
    context["search_done"] = True
    return context


class DepartementField(forms.ChoiceField):
    """The 110 départements, read and checked once and shared by every form: given in __init__,
    or deep-copied with each form's fields, they cost a third of the contact step's form."""

    choices_of_every_form = [("", _("Sélectionnez un département")), *departement_choices()]

    def __init__(self, **kwargs):
        super().__init__(choices=self.choices_of_every_form, **kwargs)

    def __deepcopy__(self, memo):
        result = forms.Field.__deepcopy__(self, memo)  # not ChoiceField's: no copy of the list
        result._choices = self._choices
        return result


class ContactForm(PortalForm):
    """Étape 3 — Vos coordonnées, prefilled from the chosen establishment."""

    departement = DepartementField(label=_("Département d'intervention"))
    address = forms.CharField(
        label=_("Adresse"), max_length=255, widget=forms.TextInput(attrs={"autocomplete": "address-line1"})
    )
    address_complement = forms.CharField(
        label=_("Complément d'adresse"),
        max_length=255,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
    )
    postal_code = forms.CharField(
        label=_("Code postal"),
        max_length=5,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "postal-code"}),
    )
    city = forms.CharField(
        label=_("Ville"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "address-level2"})
    )
    email = forms.EmailField(
        label=_("Adresse électronique professionnelle"),
        max_length=254,
        help_text=_(
            "Votre adresse professionnelle, accessible par vous seul : elle sert à la suite de l'inscription."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
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

    identifiant = forms.CharField(
        label=_("Choisissez votre identifiant"),
        max_length=150,
        help_text=_(
            "Il vous servira à vous connecter : mémorisez-le. Lettres sans accent, chiffres et . _ @ - ; "
            "ni le nom, ni le SIREN, ni le numéro client de votre organisme."
        ),
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    services = forms.ModelMultipleChoiceField(
        label=_("Choisissez les services que vous souhaitez utiliser"),
        help_text=_("L'administrateur de votre organisme validera ou modifiera les accès que vous demandez."),
        queryset=Service.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, establishment=None, waits_for_admin=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.establishment = establishment
        if not settings.PORTAL_CHOOSE_IDENTIFIANT:
            del self.fields["identifiant"]
        # Later users of an organisation with an admin choose their services now (reference: CAS 2):
        # the list kept by the process is shown, the queryset checks what is chosen.
        offered = active_lists().services if waits_for_admin else []
        if offered:
            self.fields["services"].queryset = Service.objects.filter(is_active=True)
            self.fields["services"].choices = offered
        else:
            del self.fields["services"]

    def clean(self):
        cleaned = super().clean()
        identifiant = (cleaned.get("identifiant") or "").strip()
        if identifiant:
            try:
                validate_chosen_identifiant(
                    identifiant, establishment=self.establishment, email=cleaned.get("email", "")
                )
            except forms.ValidationError as error:
                self.add_error("identifiant", error)
            else:
                cleaned["identifiant"] = identifiant
        return cleaned

    def clean_postal_code(self):
        value = self.cleaned_data["postal_code"].strip()
        validate_postal_code(value)
        return value

    def clean_email(self):
        value = self.cleaned_data["email"].strip().lower()
        validate_professional_email(value)
        return value

    def clean_phone_landline(self):
        return normalize_phone(self.cleaned_data["phone_landline"])

    def clean_phone_mobile(self):
        value = self.cleaned_data["phone_mobile"]
        return normalize_phone(value) if value.strip() else ""


class ConfirmationForm(PortalForm):
    """Étape 4 — Confirmation: anti-spam image and general terms."""

    captcha = CaseSensitiveCaptchaField(
        label=_("Antispam : recopiez les caractères de l'image"),
        help_text=_(
            "Respectez les majuscules et les minuscules. Si l'image est difficile à lire, affichez-en une autre."
        ),
    )
    accept_admin_role = forms.BooleanField(
        label=_("J'accepte le rôle d'administrateur de mon organisme."),
        error_messages={
            "required": _(
                "Vous êtes le premier utilisateur de votre organisme : acceptez le rôle d'administrateur "
                "pour poursuivre votre inscription."
            )
        },
    )
    accept_cgu = forms.BooleanField(
        label=_("J'accepte les conditions générales d'utilisation du portail."),
        error_messages={
            "required": _(
                "Vous devez accepter les conditions générales d'utilisation pour créer votre compte."
            )
        },
    )

    def __init__(self, *args, offers_admin_role=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not offers_admin_role:
            del self.fields["accept_admin_role"]


class CodeForm(EmailedCodeForm):
    """The code e-mailed to confirm the address (the page says how many digits it has)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].label = self["code"].label = _("Code reçu par e-mail")
        self.fields["code"].help_text = self["code"].help_text = ""
        self.fields["code"].widget.attrs["autofocus"] = True
