from django.contrib import admin

from .models import Campaign


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "public_id", "business", "status", "lead_count", "created_at")
    list_filter = ("status",)
    list_select_related = ("business",)
    search_fields = ("name", "public_id", "business__name")
    readonly_fields = ("public_id", "lead_count")
