from django.contrib import admin

from .models import Campaign, Outcome, ScriptQuestion


class ScriptQuestionInline(admin.TabularInline):
    model = ScriptQuestion
    extra = 0
    fields = ("position", "key", "label", "kind", "required", "options")


class OutcomeInline(admin.TabularInline):
    model = Outcome
    extra = 0
    fields = ("position", "label", "connected", "effect")


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "public_id", "business", "status", "lead_count", "created_at")
    list_filter = ("status",)
    list_select_related = ("business",)
    search_fields = ("name", "public_id", "business__name")
    readonly_fields = ("public_id", "lead_count")
    filter_horizontal = ("reps",)
    inlines = (ScriptQuestionInline, OutcomeInline)
    fieldsets = (
        (None, {"fields": ("business", "name", "public_id", "status", "lead_count")}),
        ("Attempt policy", {"fields": ("max_attempts", "retry_delays_minutes", "lease_minutes")}),
        (
            "Calling window",
            {"fields": ("timezone", "window_start", "window_end", "window_days")},
        ),
        ("Reps", {"fields": ("reps", "rep_visible_fields")}),
    )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            # Same defaults as campaigns created by services: taxonomy and a short script.
            from .services import campaign_defaults_install

            campaign_defaults_install(campaign=obj)
