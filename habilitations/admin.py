from django.contrib import admin

from habilitations.models import Habilitation, HabilitationEvent, Service


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "requires_function", "is_active", "position"]
    list_editable = ["is_active", "position"]
    list_filter = ["is_active", "requires_function"]
    search_fields = ["name", "description"]


class HabilitationEventInline(admin.TabularInline):
    model = HabilitationEvent
    extra = 0
    can_delete = False
    fields = ["at", "from_status", "to_status", "by", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Habilitation)
class HabilitationAdmin(admin.ModelAdmin):
    """Read-only: a habilitation changes state through its transitions, never by a form."""

    list_display = ["service", "member", "organisation", "status", "changed_at", "changed_by"]
    list_filter = ["status", "service"]
    search_fields = [
        "membership__user__identifiant",
        "membership__user__email",
        "membership__legal_unit__siren",
        "membership__legal_unit__denomination",
    ]
    list_select_related = ["service", "membership__user", "membership__legal_unit", "changed_by"]
    readonly_fields = ["membership", "service", "status", "created_at", "changed_at", "changed_by", "reason"]
    inlines = [HabilitationEventInline]

    @admin.display(description=Habilitation._meta.get_field("membership").verbose_name)
    def member(self, habilitation):
        return habilitation.membership.user

    @admin.display(description="SIREN")
    def organisation(self, habilitation):
        return habilitation.membership.legal_unit

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
