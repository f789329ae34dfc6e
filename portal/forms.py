import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from dsfr.forms import DsfrBaseForm

# Line breaks and tabs belong in a multi-line text; no other control character belongs anywhere.
_MULTILINE_CONTROLS = frozenset("\t\n\r")


def refuse_control_characters(value: str) -> None:
    """A one-line text without control characters (C0, DEL, C1): they would reach the e-mails,
    the letters and the staff's screens (terminal escapes, bells, invisible breaks)."""
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise ValidationError(_("Ce champ contient des caractères non autorisés."), code="control_character")


def refuse_control_characters_but_line_breaks(value: str) -> None:
    if any(unicodedata.category(char) == "Cc" and char not in _MULTILINE_CONTROLS for char in value):
        raise ValidationError(_("Ce champ contient des caractères non autorisés."), code="control_character")


class PortalForm(DsfrBaseForm):
    """Base of every form of the portal: DSFR rendering, optional fields marked (not required ones),
    and no control character in any text typed (passwords aside: they are never shown).

    The DSFR now marks optional fields, under "Sauf mention contraire, tous les champs sont
    obligatoires."; django-dsfr warns on every render until told so per form, which we do here.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # each form has its own copies of the fields
            if isinstance(field, forms.CharField) and not isinstance(field.widget, forms.PasswordInput):
                multiline = isinstance(field.widget, forms.Textarea)
                field.validators.append(
                    refuse_control_characters_but_line_breaks if multiline else refuse_control_characters
                )

    def get_context(self):
        context = forms.Form.get_context(self)
        context["DSFR_MARK_OPTIONAL_FIELDS"] = True
        return context


class HintedCheckboxSelectMultiple(forms.CheckboxSelectMultiple):
    """Checkboxes with a hint under each label (DSFR fr-hint-text): ``hints`` maps a choice's
    value, as text, to its hint. Give its field ``template_name=field_template_name``: django-dsfr
    picks a field's template from its widget's class name."""

    field_template_name = "dsfr/form_field_snippets/checkboxselectmultiple_snippet.html"

    def __init__(self, *args, hints=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.hints = hints or {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        hint = self.hints.get(str(value))
        if hint:
            # django-dsfr's checkbox_option.html draws {"label", "help_text"} as label and hint.
            option["label"] = {"label": label, "help_text": hint}
        return option
