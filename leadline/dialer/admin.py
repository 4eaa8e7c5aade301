from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse

from leadline.campaigns.models import Campaign
from leadline.core.admin_helpers import ReadOnlyAdmin

from . import report_pages
from .models import CallAttempt, DayCount, PauseCode, RepStateInterval


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


@admin.register(DayCount)
class DailyReportAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """The daily reports for operators: every campaign, per rep and per campaign, with charts
    and CSV. The rows are the services' (dialer.reports); the changelist shows the report
    they add up to, not the rows themselves (`leadline reports verify` checks those)."""

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("reps.csv", wrap(self.reps_csv), name="dialer_daycount_reps_csv"),
            path("campaigns.csv", wrap(self.campaigns_csv), name="dialer_daycount_campaigns_csv"),
            *super().get_urls(),
        ]

    def has_view_permission(self, request, obj=None):
        return bool(request.user.is_active and request.user.is_staff)

    def _result(self, request):
        campaigns = list(Campaign.objects.select_related("business").order_by("name", "pk"))
        result = report_pages.report_request(
            params=request.GET, campaigns=campaigns, with_reps=True
        )
        return campaigns, result

    def _page(self, request, campaigns, result):
        query = request.GET.urlencode()
        suffix = f"?{query}" if query else ""
        context = {
            **self.admin_site.each_context(request),
            **report_pages.report_page_context(result),
            "title": "Daily reports",
            "opts": self.model._meta,
            "campaign_choices": campaigns,
            "reps_csv_url": reverse("admin:dialer_daycount_reps_csv") + suffix,
            "campaigns_csv_url": reverse("admin:dialer_daycount_campaigns_csv") + suffix,
        }
        return TemplateResponse(
            request, "admin/dialer/daycount/report.html", context, status=result.status
        )

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        campaigns, result = self._result(request)
        return self._page(request, campaigns, result)

    def reps_csv(self, request):
        campaigns, result = self._result(request)
        if result.report is None:
            return self._page(request, campaigns, result)
        return report_pages.reps_csv(result.report, "rep-days.csv")

    def campaigns_csv(self, request):
        campaigns, result = self._result(request)
        if result.report is None:
            return self._page(request, campaigns, result)
        return report_pages.campaigns_csv(result.report, "campaign-days.csv")
