from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils import timezone

from .models import ApiToken, Business, User


@admin.register(Business)
class BusinessAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active", "rate_limit_per_minute", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name",)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "business", "role", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_active")
    list_select_related = ("business",)
    search_fields = ("username", "email", "business__name")
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Leadline", {"fields": ("business", "role")}))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens can be looked at and revoked, never created or revealed here."""

    list_display = ("prefix", "name", "business", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    list_select_related = ("business",)
    search_fields = ("prefix", "name", "business__name")
    readonly_fields = ("business", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    exclude = ("token_hash",)
    actions = ("revoke",)

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)
