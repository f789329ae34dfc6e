from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from mailings.enums import LetterStatus
from mailings.letters import mark_letters_sent, merged_pdf, record_download
from mailings.models import Email, Letter


@admin.register(Email)
class EmailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "to_email", "subject", "status", "attempts", "sent_at"]
    list_filter = ["status", "template"]
    search_fields = ["to_email", "subject"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Email._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _pdf_response(pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # The letters hold activation codes: no copy in a browser's or a proxy's cache.
    add_never_cache_headers(response)
    return response


def _printable(letters):
    """The letters still to print among ``letters``, oldest first, with their PDF."""
    return list(
        Letter.objects.filter(pk__in=letters.values("pk"), status=LetterStatus.TO_PRINT).order_by(
            "created_at", "id"
        )
    )


@admin.register(Letter)
class LetterAdmin(admin.ModelAdmin):
    """Letters to print: staff download them as one PDF, post them, then mark them sent.

    Rows are never edited: the change permission is what lets staff download the letters (their
    PDF holds activation codes) and mark them sent.
    """

    list_display = ["created_at", "subject", "recipient_name", "status", "sent_at", "sent_by"]
    list_filter = ["status"]
    search_fields = ["recipient", "subject"]
    list_select_related = ["sent_by"]
    fields = [
        "uuid",
        "created_at",
        "template",
        "subject",
        "recipient",
        "status",
        "sent_at",
        "sent_by",
        "cancelled_at",
    ]
    readonly_fields = fields
    actions = ["download_selected", "mark_sent"]
    change_list_template = "admin/mailings/letter/change_list.html"
    change_form_template = "admin/mailings/letter/change_form.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # A letter's page is read-only; the permission stands for the actions on the list.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        # The list and the detail page never need the PDFs.
        return super().get_queryset(request).defer("pdf")

    def get_ordering(self, request):
        if request.GET.get("status__exact") == LetterStatus.TO_PRINT:
            return ["created_at", "id"]  # in the order they were written: the order to print them
        return super().get_ordering(request)

    @admin.display(description=_("destinataire"), ordering="recipient")
    def recipient_name(self, letter):
        return letter.recipient.splitlines()[0] if letter.recipient else ""

    def get_urls(self):
        return [
            path(
                "imprimer/",
                self.admin_site.admin_view(self.print_view),
                name="mailings_letter_print",
            ),
            path(
                "<int:pk>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="mailings_letter_pdf",
            ),
            *super().get_urls(),
        ]

    def _check_can_print(self, request):
        if not self.has_change_permission(request):
            raise PermissionDenied

    def print_view(self, request):
        """All the letters to print, oldest first, in one PDF."""
        self._check_can_print(request)
        letters = _printable(Letter.objects.all())
        if not letters:
            self.message_user(request, _("Aucun courrier n'est à imprimer."), messages.WARNING)
            return redirect("admin:mailings_letter_changelist")
        return self._download(request, letters)

    def pdf_view(self, request, pk):
        self._check_can_print(request)
        letter = get_object_or_404(Letter, pk=pk, status=LetterStatus.TO_PRINT, pdf__isnull=False)
        record_download(letters=[letter], request=request)
        return _pdf_response(bytes(letter.pdf), f"courrier-{letter.pk}.pdf")

    def _download(self, request, letters):
        record_download(letters=letters, request=request)
        return _pdf_response(merged_pdf(letters), f"courriers-{timezone.localdate():%Y-%m-%d}.pdf")

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "to_print_count": Letter.objects.filter(status=LetterStatus.TO_PRINT).count(),
            "can_print": self.has_change_permission(request),
        }
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        letter = self.get_object(request, object_id)
        can_download = (
            letter is not None
            and letter.status == LetterStatus.TO_PRINT
            and self.has_change_permission(request)
        )
        extra_context = {
            **(extra_context or {}),
            "pdf_url": reverse("admin:mailings_letter_pdf", args=[letter.pk]) if can_download else "",
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(
        description=_("Télécharger les courriers sélectionnés (un seul PDF)"), permissions=["change"]
    )
    def download_selected(self, request, queryset):
        letters = _printable(queryset)
        if not letters:
            self.message_user(
                request, _("Aucun des courriers sélectionnés n'est à imprimer."), messages.WARNING
            )
            return None
        return self._download(request, letters)

    @admin.action(description=_("Marquer comme envoyés"), permissions=["change"])
    def mark_sent(self, request, queryset):
        # Marking erases the PDFs for good: staff confirm the list of what they have printed.
        letters = queryset.filter(status=LetterStatus.TO_PRINT).order_by("created_at", "id")
        if not letters.exists():
            self.message_user(
                request, _("Aucun des courriers sélectionnés n'est à imprimer."), messages.WARNING
            )
            return None
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": _("Marquer des courriers comme envoyés"),
                "letters": letters,
                "skipped": queryset.exclude(status=LetterStatus.TO_PRINT).count(),
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/mailings/letter/mark_sent.html", context)
        marked = mark_letters_sent(letters=queryset, by=request.user, request=request)
        self.message_user(
            request,
            ngettext(
                "%(count)d courrier marqué comme envoyé.",
                "%(count)d courriers marqués comme envoyés.",
                marked,
            )
            % {"count": marked},
        )
        skipped = queryset.count() - marked
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d courrier ignoré : il n'était plus à imprimer.",
                    "%(count)d courriers ignorés : ils n'étaient plus à imprimer.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )
        return None
