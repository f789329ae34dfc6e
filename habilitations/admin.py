"""The staff's admin of services and habilitations (DESIGN §6).

Habilitations are never edited by a form: staff move them through their state machine with the
list's actions (habilitations.services.decide_as_staff), each step e-mailed and audited.
Conditions particulières are versions: staff publish a new one, a published one is never changed.
"""

from django.contrib import admin, messages
from django.db import models
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Now
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from habilitations.forms import NewConditionsForm, StaffRefusalForm
from habilitations.models import (
    ConditionsAcceptance,
    Habilitation,
    HabilitationEvent,
    InvalidTransition,
    Service,
    ServiceConditions,
)
from habilitations.services import StaffDecision, decide_as_staff, publish_conditions


class PublishedConditionsInline(admin.StackedInline):
    """The versions published so far, read-only."""

    model = ServiceConditions
    verbose_name = _("version publiée des conditions particulières")
    verbose_name_plural = _("versions publiées des conditions particulières")
    extra = 0
    can_delete = False
    fields = ["version", "published_at", "published_by", "text"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class NewConditionsInline(admin.StackedInline):
    """A new version of the conditions: published when the service is saved, asked of every user
    at their next access."""

    model = ServiceConditions
    form = NewConditionsForm
    verbose_name = _("nouvelle version des conditions particulières")
    verbose_name_plural = _("publier une nouvelle version des conditions particulières")
    extra = 1  # the form is there without JavaScript; left empty, nothing is published
    max_num = 1
    can_delete = False
    fields = ["version", "text"]

    def get_queryset(self, request):
        return super().get_queryset(request).none()


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "requires_function", "url", "current_conditions", "is_active", "position"]
    list_editable = ["is_active", "position"]
    list_filter = ["is_active", "requires_function"]
    search_fields = ["name", "description"]
    inlines = [PublishedConditionsInline, NewConditionsInline]
    # A service's address typed without its scheme is a secure one.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        latest = ServiceConditions.objects.filter(service=OuterRef("pk"), published_at__lte=Now()).order_by(
            "-published_at", "-id"
        )
        return super().get_queryset(request).annotate(current_version=Subquery(latest.values("version")[:1]))

    @admin.display(description=_("conditions particulières en vigueur"), ordering="current_version")
    def current_conditions(self, service):
        return service.current_version or "—"

    def save_formset(self, request, form, formset, change):
        if formset.model is not ServiceConditions:
            return super().save_formset(request, form, formset, change)
        for conditions in formset.save(commit=False):
            publish_conditions(conditions=conditions, by=request.user, request=request)
        return None


@admin.register(ConditionsAcceptance)
class ConditionsAcceptanceAdmin(admin.ModelAdmin):
    """Who accepted which version of a service's conditions, when and from where."""

    list_display = ["user", "conditions", "accepted_at", "ip_address"]
    list_filter = ["conditions__service"]
    search_fields = ["user__identifiant", "user__email", "conditions__version"]
    list_select_related = ["user", "conditions__service"]
    date_hierarchy = "accepted_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class HabilitationEventInline(admin.TabularInline):
    model = HabilitationEvent
    extra = 0
    can_delete = False
    fields = ["at", "from_status", "to_status", "by", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Habilitation)
class HabilitationAdmin(admin.ModelAdmin):
    """Read-only rows; staff decide with the list's actions, through the state machine."""

    list_display = [
        "service",
        "member",
        "organisation",
        "membership_status",
        "status",
        "changed_at",
        "changed_by",
    ]
    list_filter = ["status", "service", "membership__status"]
    search_fields = [
        "membership__user__identifiant",
        "membership__user__email",
        "membership__user__last_name",
        "membership__email",
        "=membership__legal_unit__siren",
        "membership__legal_unit__denomination",
    ]
    list_select_related = ["service", "membership__user", "membership__legal_unit", "changed_by"]
    readonly_fields = ["membership", "service", "status", "created_at", "changed_at", "changed_by", "reason"]
    fields = readonly_fields
    inlines = [HabilitationEventInline]
    date_hierarchy = "created_at"
    actions = ["validate_selected", "refuse_selected", "deactivate_selected", "reactivate_selected"]

    @admin.display(description=_("membre"), ordering="membership__user__last_name")
    def member(self, habilitation):
        return habilitation.membership.user

    @admin.display(description=_("organisation"), ordering="membership__legal_unit__denomination")
    def organisation(self, habilitation):
        return habilitation.membership.legal_unit

    @admin.display(description=_("inscription"), ordering="membership__status")
    def membership_status(self, habilitation):
        return habilitation.membership.get_status_display()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # A habilitation's page is read-only; the permission stands for the list's actions.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def _decide(self, request, queryset, decision: StaffDecision, *, reason: str = "") -> None:
        done, skipped = 0, []
        for habilitation in queryset.select_related("service", "membership__user", "membership__legal_unit"):
            try:
                decide_as_staff(
                    habilitation=habilitation,
                    decision=decision,
                    by=request.user,
                    reason=reason,
                    request=request,
                )
            except InvalidTransition as refusal:
                skipped.append(str(refusal))
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext(
                    "%(count)d habilitation modifiée ; le membre est prévenu par courriel.",
                    "%(count)d habilitations modifiées ; les membres sont prévenus par courriel.",
                    done,
                )
                % {"count": done},
                messages.SUCCESS,
            )
        for refusal in skipped:
            self.message_user(request, refusal, messages.WARNING)

    @admin.action(description=_("Valider"), permissions=["change"])
    def validate_selected(self, request, queryset):
        self._decide(request, queryset, StaffDecision.VALIDATE)

    @admin.action(description=_("Refuser (avec un motif)"), permissions=["change"])
    def refuse_selected(self, request, queryset):
        form = StaffRefusalForm(request.POST if "reason" in request.POST else None)
        if "reason" in request.POST and form.is_valid():
            self._decide(request, queryset, StaffDecision.REFUSE, reason=form.cleaned_data["reason"])
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Refuser des demandes d'habilitation"),
            "form": form,
            "habilitations": list(
                queryset.select_related("service", "membership__user", "membership__legal_unit")
            ),
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/habilitations/habilitation/refuse.html", context)

    @admin.action(description=_("Désactiver"), permissions=["change"])
    def deactivate_selected(self, request, queryset):
        self._decide(request, queryset, StaffDecision.DEACTIVATE)

    @admin.action(description=_("Réactiver"), permissions=["change"])
    def reactivate_selected(self, request, queryset):
        self._decide(request, queryset, StaffDecision.REACTIVATE)
