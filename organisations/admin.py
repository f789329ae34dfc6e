from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from organisations.client_numbers import import_client_numbers
from organisations.delegation import DelegationError, send_new_letter
from organisations.models import (
    AdminClaim,
    Category,
    CategoryFlag,
    ClientNumber,
    Establishment,
    Function,
    LegalUnit,
    Membership,
    TrustedDomainEntry,
)
from organisations.services import STAFF_DECIDES, InvalidDecision, approve_membership, refuse_membership


class FunctionInline(admin.TabularInline):
    model = Function
    extra = 1
    fields = ["name", "position", "is_active"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "is_active"]
    list_editable = ["position", "is_active"]
    filter_horizontal = ["flags"]
    inlines = [FunctionInline]


@admin.register(CategoryFlag)
class CategoryFlagAdmin(admin.ModelAdmin):
    list_display = ["label", "help_text"]


@admin.register(TrustedDomainEntry)
class TrustedDomainEntryAdmin(admin.ModelAdmin):
    list_display = ["kind", "value", "siren", "note", "created_at"]
    list_filter = ["kind"]
    search_fields = ["value", "siren", "note"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LegalUnit)
class LegalUnitAdmin(ReadOnlyAdmin):
    list_display = ["siren", "denomination", "sigle", "legal_category", "is_active"]
    search_fields = ["=siren", "denomination", "sigle"]
    list_filter = ["is_active"]


@admin.register(Establishment)
class EstablishmentAdmin(ReadOnlyAdmin):
    list_display = ["siret", "name", "postal_code", "city", "is_siege", "is_active", "is_diffusible"]
    search_fields = ["=siret", "=legal_unit__siren", "name", "city"]
    list_filter = ["is_siege", "is_active", "is_diffusible"]
    list_select_related = ["legal_unit"]
    show_full_result_count = False


class ClientNumberImportForm(forms.Form):
    file = forms.FileField(
        label=_("Fichier CSV"),
        help_text=_(
            "Colonnes : numero_client, siren_ou_siret, nom (séparées par ; ou ,), la première ligne les nomme."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 20 * 1024 * 1024:
            raise forms.ValidationError(_("Le fichier dépasse 20 Mo : découpez-le."))
        return upload


@admin.register(ClientNumber)
class ClientNumberAdmin(admin.ModelAdmin):
    list_display = ["number", "siren", "siret", "name", "imported_at"]
    search_fields = ["=number", "=siren", "=siret", "name"]
    change_list_template = "admin/organisations/clientnumber/change_list.html"

    def get_urls(self):
        return [
            path(
                "importer/",
                self.admin_site.admin_view(self.import_view),
                name="organisations_clientnumber_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ClientNumberImportForm(*((request.POST, request.FILES) if request.method == "POST" else ()))
        report = None
        if request.method == "POST" and form.is_valid():
            report = import_client_numbers(
                data=form.cleaned_data["file"].read(), by=request.user, request=request
            )
            self.message_user(
                request,
                _("%(created)d numéros créés, %(updated)d mis à jour, %(rejected)d lignes rejetées.")
                % {"created": report.created, "updated": report.updated, "rejected": len(report.rejected)},
                messages.WARNING if report.rejected else messages.SUCCESS,
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Importer des numéros clients"),
            "form": form,
            "report": report,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/organisations/clientnumber/import.html", context)


class RefusalForm(forms.Form):
    reason = forms.CharField(
        label=_("Motif du refus"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        help_text=_("Il est envoyé au demandeur."),
    )


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """The staff validation queue (rule R4)."""

    list_display = [
        "created_at",
        "applicant",
        "email",
        "legal_unit",
        "category",
        "function",
        "status",
        "rule",
    ]
    list_filter = ["status", "rule", "category", ("created_at", admin.DateFieldListFilter)]
    search_fields = [
        "user__last_name",
        "user__first_name",
        "user__identifiant",
        "email",
        "legal_unit__denomination",
        "=legal_unit__siren",
        "=establishment__siret",
    ]
    list_display_links = ["applicant"]
    list_select_related = ["user", "legal_unit", "category", "function"]
    date_hierarchy = "created_at"
    actions = ["approve_selected", "refuse_selected"]
    readonly_fields = [field.name for field in Membership._meta.fields] + ["flags"]
    change_form_template = "admin/organisations/membership/change_form.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("demandeur"), ordering="user__last_name")
    def applicant(self, membership):
        return membership.user

    def get_urls(self):
        return [
            path(
                "<int:pk>/approve/",
                self.admin_site.admin_view(self.approve_view),
                name="organisations_membership_approve",
            ),
            path(
                "<int:pk>/refuse/",
                self.admin_site.admin_view(self.refuse_view),
                name="organisations_membership_refuse",
            ),
            *super().get_urls(),
        ]

    def _check_permission(self, request):
        if not self.has_change_permission(request):
            raise PermissionDenied

    def approve_view(self, request, pk):
        self._check_permission(request)
        membership = get_object_or_404(Membership, pk=pk)
        if request.method != "POST":
            return redirect("admin:organisations_membership_change", pk)
        try:
            approve_membership(membership=membership, by=request.user, request=request)
        except InvalidDecision as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(
                request,
                _("L'inscription de %(user)s est validée ; le demandeur est prévenu par courriel.")
                % {"user": membership.user},
            )
        return redirect("admin:organisations_membership_change", pk)

    def refuse_view(self, request, pk):
        self._check_permission(request)
        membership = get_object_or_404(Membership, pk=pk)
        form = RefusalForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                refuse_membership(
                    membership=membership,
                    by=request.user,
                    reason=form.cleaned_data["reason"],
                    request=request,
                )
            except InvalidDecision as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("L'inscription de %(user)s est refusée ; le demandeur est prévenu par courriel.")
                    % {"user": membership.user},
                )
            return redirect("admin:organisations_membership_change", pk)
        return self._refusal_page(request, form, [membership])

    def _refusal_page(self, request, form, memberships):
        context = {
            **self.admin_site.each_context(request),
            "title": _("Refuser des inscriptions"),
            "form": form,
            "memberships": memberships,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/organisations/membership/refuse.html", context)

    @admin.action(description=_("Valider les inscriptions sélectionnées"), permissions=["change"])
    def approve_selected(self, request, queryset):
        approved = 0
        for membership in queryset.filter(status__in=STAFF_DECIDES):
            try:
                approve_membership(membership=membership, by=request.user, request=request)
            except InvalidDecision:
                continue
            approved += 1
        skipped = queryset.count() - approved
        self.message_user(
            request,
            ngettext("%(count)d inscription validée.", "%(count)d inscriptions validées.", approved)
            % {"count": approved},
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d inscription ignorée : déjà traitée.",
                    "%(count)d inscriptions ignorées : déjà traitées.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )

    @admin.action(
        description=_("Refuser les inscriptions sélectionnées (avec un motif)"), permissions=["change"]
    )
    def refuse_selected(self, request, queryset):
        form = RefusalForm(request.POST if "reason" in request.POST else None)
        if "reason" in request.POST and form.is_valid():
            refused = 0
            for membership in queryset.filter(status__in=STAFF_DECIDES):
                try:
                    refuse_membership(
                        membership=membership,
                        by=request.user,
                        reason=form.cleaned_data["reason"],
                        request=request,
                    )
                except InvalidDecision:
                    continue
                refused += 1
            self.message_user(
                request,
                ngettext("%(count)d inscription refusée.", "%(count)d inscriptions refusées.", refused)
                % {"count": refused},
            )
            return None
        return self._refusal_page(request, form, list(queryset.select_related("user", "legal_unit")))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        membership = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "can_decide": membership is not None and membership.status in STAFF_DECIDES,
            "approve_url": reverse("admin:organisations_membership_approve", args=[object_id])
            if membership
            else "",
            "refuse_url": reverse("admin:organisations_membership_refuse", args=[object_id])
            if membership
            else "",
        }
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(AdminClaim)
class AdminClaimAdmin(admin.ModelAdmin):
    """Requests for the admin role (rule R3): staff follow them and send a new letter when one is
    lost or its code blocked. Rows are never edited here; the code's hash is never shown."""

    list_display = [
        "legal_unit",
        "applicant",
        "status",
        "expires_at",
        "tries",
        "letters_sent",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = [
        "=legal_unit__siren",
        "legal_unit__denomination",
        "membership__email",
        "membership__user__email",
        "membership__user__identifiant",
    ]
    list_select_related = ["legal_unit", "membership__user"]
    fields = [
        "legal_unit",
        "membership",
        "status",
        "expires_at",
        "tries",
        "letters_sent",
        "letter",
        "created_at",
        "reminder_sent_at",
        "closed_at",
    ]
    readonly_fields = fields
    actions = ["send_new_letters"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # A claim's page is read-only; the permission stands for the action on the list.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("demandeur"), ordering="membership__user__last_name")
    def applicant(self, claim):
        return claim.membership.user

    @admin.action(
        description=_("Envoyer un nouveau courrier (le code précédent ne sera plus valable)"),
        permissions=["change"],
    )
    def send_new_letters(self, request, queryset):
        sent = 0
        for claim in queryset.select_related("membership__user", "legal_unit"):
            try:
                send_new_letter(claim=claim, by=request.user, request=request)
            except DelegationError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                sent += 1
        if sent:
            self.message_user(
                request,
                ngettext(
                    "%(count)d nouveau courrier est à imprimer ; le demandeur est prévenu par courriel.",
                    "%(count)d nouveaux courriers sont à imprimer ; les demandeurs sont prévenus par courriel.",
                    sent,
                )
                % {"count": sent},
            )
