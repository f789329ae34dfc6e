"""Forms of the services' pages (catalogue_views.py) and of the staff's admin (admin.py)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from habilitations.models import ServiceConditions
from portal.forms import PortalForm

REASON_MAX_LENGTH = 2000


class ConditionsForm(PortalForm):
    """Acceptance of a version of a service's conditions particulières.

    The version shown travels with the form: if staff publish a new one meanwhile, the user reads
    it before accepting it.
    """

    accepted = forms.BooleanField(
        label=_("J'accepte les conditions particulières d'utilisation du service"),
        error_messages={
            "required": _("Cochez la case pour accepter les conditions particulières d'utilisation.")
        },
    )
    version = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, conditions, **kwargs):
        super().__init__(*args, **kwargs)
        self.conditions = conditions
        self.fields["version"].initial = conditions.version

    def clean_version(self):
        version = self.cleaned_data["version"]
        if version != self.conditions.version:
            raise forms.ValidationError(
                _(
                    "Les conditions particulières viennent d'être mises à jour : lisez la nouvelle "
                    "version avant de l'accepter."
                )
            )
        return version


class StaffRefusalForm(forms.Form):
    """The reason staff give for refusing habilitations (admin intermediate page)."""

    reason = forms.CharField(
        label=_("Motif du refus"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=REASON_MAX_LENGTH,
        help_text=_("Il est envoyé à chaque demandeur."),
    )


class NewConditionsForm(forms.ModelForm):
    """A new version of a service's conditions particulières (admin inline)."""

    class Meta:
        model = ServiceConditions
        fields = ["version", "text"]

    def clean_version(self):
        # The admin's inline leaves the service out of the model's constraint checks: a version
        # used twice would fail in the database instead of here.
        version = self.cleaned_data["version"].strip()
        service_id = self.instance.service_id
        if service_id and ServiceConditions.objects.filter(service_id=service_id, version=version).exists():
            raise forms.ValidationError(
                _("La version « %(version)s » de ces conditions existe déjà : choisissez un autre numéro."),
                params={"version": version},
            )
        return version
