from django.contrib import admin

from .models import CallAttempt


@admin.register(CallAttempt)
class CallAttemptAdmin(admin.ModelAdmin):
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
    list_filter = ("telephony_status", "connected", "campaign")
    list_select_related = ("campaign", "rep")
    search_fields = ("uuid", "outcome", "rep__username")
    readonly_fields = [f.name for f in CallAttempt._meta.fields]

    def has_add_permission(self, request):
        return False
