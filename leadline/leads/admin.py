from django.contrib import admin

from leadline.core.admin_helpers import ReadOnlyAdmin

from .models import Lead, LeadImport


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    """Operators look at queue state; personal data changes only through the API services."""

    list_display = (
        "lead_id",
        "campaign",
        "status",
        "queue_class",
        "attempts_count",
        "due_at",
        "processed_at",
        "lead_outcome",
    )
    list_filter = ("status", "queue_class", "campaign")
    list_select_related = ("campaign",)
    search_fields = ("lead_id",)
    show_full_result_count = False  # COUNT(*) over millions of leads on every page is slow
    exclude = ("phone_number",)
    readonly_fields = [f.name for f in Lead._meta.fields if f.name != "phone_number"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # erasure goes through leads.services.lead_erase


_IMPORT_HIDDEN = ("file", "original_name", "lease_token")


@admin.register(LeadImport)
class LeadImportAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """CSV imports, read-only: counts and state for operators; no file, no report rows."""

    list_display = (
        "id",
        "campaign",
        "status",
        "total_rows",
        "error_rows",
        "imported_rows",
        "created_at",
        "finished_at",
    )
    list_filter = ("status",)
    list_select_related = ("campaign",)
    show_full_result_count = False
    # The stored file, its name and the problem rows may hold personal data; the dashboard
    # shows them to the client, the admin does not.
    exclude = _IMPORT_HIDDEN
    readonly_fields = [f.name for f in LeadImport._meta.fields if f.name not in _IMPORT_HIDDEN]
