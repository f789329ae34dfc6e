"""Forms of a member's pages about their organisation: the admin role's code and offer."""

from django import forms
from django.utils.translation import gettext_lazy as _

from organisations.delegation import CODE_ALPHABET, CODE_LENGTH
from portal.forms import PortalForm


class ActivationCodeForm(PortalForm):
    code = forms.CharField(
        label=_("Code d'activation"),
        max_length=40,
        help_text=_(
            "Le code à 10 caractères du courrier reçu par votre représentant légal (exemple : K7P2M-XQ9RT). "
            "Les majuscules, les espaces et les tirets sont sans importance."
        ),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )

    def clean_code(self):
        """What cannot be a letter's code is refused here and spends none of the claim's tries."""
        code = "".join(self.cleaned_data["code"].upper().split()).replace("-", "")
        if len(code) != CODE_LENGTH or any(char not in CODE_ALPHABET for char in code):
            raise forms.ValidationError(
                _(
                    "Le code d'activation compte %(length)d lettres et chiffres, sans 0, 1, 5, 8, B, I, L, "
                    "O ni S : recopiez-le tel qu'il figure sur le courrier."
                ),
                code="invalid",
                params={"length": CODE_LENGTH},
            )
        return code


class AdminRoleForm(PortalForm):
    accept_admin_role = forms.BooleanField(
        label=_("J'accepte le rôle d'administrateur de mon organisme."),
        error_messages={"required": _("Acceptez le rôle d'administrateur pour le demander.")},
    )
    accept_cgu = forms.BooleanField(
        label=_("J'accepte les conditions générales d'utilisation du portail."),
        error_messages={
            "required": _("Acceptez les conditions générales d'utilisation pour demander ce rôle.")
        },
    )
