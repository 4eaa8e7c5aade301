from django.contrib import admin

from leadline.core.admin_helpers import ReadOnlyAdmin

from .models import CallAttempt, PauseCode, RepStateInterval


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


@admin.register(PauseCode)
class PauseCodeAdmin(admin.ModelAdmin):
    """The pause codes reps pick from (break, lunch, training, meeting are there from the
    start); an unused code is switched off rather than deleted, so history keeps its name."""

    list_display = ("code", "label", "position", "active")
    list_editable = ("label", "position", "active")
    ordering = ("position", "code")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RepStateInterval)
class RepStateIntervalAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Every stretch of time each rep spent in a state (written by the dialer services)."""

    list_display = ("rep", "state", "pause_code", "campaign", "started_at", "ended_at")
    list_filter = ("state", "pause_code", "started_at")
    list_select_related = ("rep", "campaign")
    search_fields = ("rep__username",)
