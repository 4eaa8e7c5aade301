from django.contrib import admin

from leadline.core.admin_helpers import ReadOnlyAdmin

from .models import CallAttempt


@admin.register(CallAttempt)
class CallAttemptAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Read-only history of calls; the lead's number never shows here either."""

    list_display = (
        "uuid",
        "campaign",
        "rep",
        "telephony_status",
        "outcome",
        "duration_seconds",
        "started_at",
    )
    list_filter = (
        "telephony_status",
        "connected",
        "discarded",
        "campaign__business",
        "campaign",
        "started_at",
    )
    list_select_related = ("campaign", "rep")
    search_fields = ("uuid", "outcome", "rep__username", "campaign__public_id")
    ordering = ("-started_at",)
    show_full_result_count = False  # one row per call: COUNT(*) on every page adds up
    readonly_fields = [f.name for f in CallAttempt._meta.fields]
