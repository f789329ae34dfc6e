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
