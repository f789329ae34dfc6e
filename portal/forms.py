from django import forms
from dsfr.forms import DsfrBaseForm


class PortalForm(DsfrBaseForm):
    """Base of every form of the portal: DSFR rendering, optional fields marked (not required ones).

    The DSFR now marks optional fields, under "Sauf mention contraire, tous les champs sont
    obligatoires."; django-dsfr warns on every render until told so per form, which we do here.
    """

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
