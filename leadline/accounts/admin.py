"""Operator console for tenants, people and API tokens (staff only, like all of /admin/)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm

from leadline.core.admin_helpers import count_of
from leadline.core.errors import ApiError
from leadline.core.phones import normalize_indian_phone

from .audit import AuditedDeletionsAdmin
from .models import ApiToken, AuditEntry, Business, User
from .services import api_token_revoke


@admin.register(Business)
class BusinessAdmin(AuditedDeletionsAdmin, admin.ModelAdmin):
    list_display: tuple[str, ...] = (
        "name",
        "is_active",
        "rate_limit_per_minute",
        "users_count",
        "active_tokens_count",
        "created_at",
    )
    list_filter = ("is_active", "created_at")
    search_fields = ("name",)
    fields = (
        "name",
        "is_active",
        "rate_limit_per_minute",
        "event_payload_retention_days",
        "response_excerpt_retention_days",
        "recording_retention_days",
        "calls_per_number_day",
        "calls_per_number_week",
        "min_gap_minutes",
        "timezone",
        "created_at",
        "updated_at",
    )
    readonly_fields = ("created_at", "updated_at")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                users_count=count_of(User.objects.all(), "business"),
                active_tokens_count=count_of(
                    ApiToken.objects.filter(revoked_at__isnull=True), "business"
                ),
            )
        )

    @admin.display(description="users", ordering="users_count")
    def users_count(self, obj):
        return obj.users_count

    @admin.display(description="active tokens", ordering="active_tokens_count")
    def active_tokens_count(self, obj):
        return obj.active_tokens_count


def rep_fields_clean(form, cleaned_data, campaigns):
    """The rules every rep shares: a business, a dialable phone, campaigns of that business only.

    Used by the user form (its campaigns) and mirrored by the campaign form (its reps).
    """
    role = cleaned_data.get("role")
    business = cleaned_data.get("business")
    if role == User.Role.REP:
        if business is None:
            form.add_error("business", "A rep belongs to a business.")
        if not cleaned_data.get("phone_number") and "phone_number" not in form.errors:
            form.add_error("phone_number", "A rep needs their own phone: calls ring it first.")
    if campaigns:
        if role != User.Role.REP:
            form.add_error("campaigns", "Only reps are assigned to campaigns.")
        foreign = [c for c in campaigns if business is None or c.business_id != business.pk]
        if foreign:
            form.add_error(
                "campaigns",
                "These campaigns belong to another business: "
                + ", ".join(c.public_id for c in foreign)
                + ". A rep only works campaigns of its own business.",
            )


class LeadlineUserFormMixin:
    """Role, business and the rep's own phone (normalised to E.164, as `leadline rep add`)."""

    cleaned_data: dict[str, Any]  # the form's, as this mixes into one
    fields: dict[str, forms.Field]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "business_role" in self.fields:
            # A form posted without it (a script, an older page) keeps the model's default
            # rather than failing: browsers always send the preselected owner.
            self.fields["business_role"].required = False

    def clean_business_role(self):
        return self.cleaned_data.get("business_role") or User.BusinessRole.OWNER

    def clean_phone_number(self):
        value = self.cleaned_data.get("phone_number", "")
        if not value:
            return ""
        phone = normalize_indian_phone(value)
        if phone is None:
            raise forms.ValidationError("Not a valid Indian phone number.")
        return phone


class UserAddForm(LeadlineUserFormMixin, DjangoUserAdmin.add_form):
    class Meta(DjangoUserAdmin.add_form.Meta):
        model = User
        fields = ("username", "business", "role", "business_role", "phone_number")

    def clean(self):
        cleaned_data = super().clean()
        rep_fields_clean(self, cleaned_data, [])
        return cleaned_data


class UserChangeForm(LeadlineUserFormMixin, DjangoUserChangeForm):
    class Meta(DjangoUserChangeForm.Meta):
        model = User

    def clean(self):
        cleaned_data = super().clean()
        rep_fields_clean(self, cleaned_data, [])
        return cleaned_data


@admin.register(User)
class UserAdmin(AuditedDeletionsAdmin, DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserAddForm
    list_display: tuple[str, ...] = (
        "username",
        "email",
        "business",
        "role",
        "business_role",
        "is_staff",
        "is_active",
        "last_login",
    )
    list_filter = ("role", "business_role", "business", "is_active", "is_staff", "is_superuser")
    list_select_related = ("business",)
    search_fields = ("username", "email", "first_name", "last_name", "business__name")
    autocomplete_fields = ("business",)
    fieldsets = (
        # django-stubs give UserAdmin the ModelAdmin's Optional fieldsets; Django defines them.
        *DjangoUserAdmin.fieldsets,  # type: ignore[misc]
        ("Leadline", {"fields": ("business", "role", "business_role", "phone_number")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "usable_password",
                    "password1",
                    "password2",
                    "business",
                    "role",
                    "business_role",
                    "phone_number",
                ),
            },
        ),
    )


class RevokedFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("active", "Active"), ("revoked", "Revoked"))

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens can be looked at, renamed and revoked; never created, revealed or deleted here.

    Creation stays with the dashboard and `leadline token`, the only places the secret is
    shown (once). Deleting is refused: a revoked row is the record of who had API access
    and when it was last used, and revoking already cuts access.
    """

    list_display = ("business", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = (RevokedFilter, "business", "created_at", "last_used_at")
    list_select_related = ("business",)
    search_fields = ("prefix", "name", "business__name")
    # Only these fields exist for the admin: the hash is never a field, shown or searched.
    fields = ("business", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("business", "prefix", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # The label only: a full save could write back a revocation or last use from before.
        obj.save(update_fields=["name"])

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        revoked = 0
        for prefix in queryset.filter(revoked_at__isnull=True).values_list("prefix", flat=True):
            try:
                api_token_revoke(prefix=prefix)
            except ApiError as exc:  # revoked or removed meanwhile
                self.message_user(request, f"{prefix}: {exc.detail}", messages.WARNING)
                continue
            revoked += 1
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The whole trail, every business's, read-only: entries are written by the code that
    acts and removed only by the retention purge."""

    list_display = ("created_at", "business", "actor_kind", "actor_label", "action", "target")
    list_filter = ("action", "actor_kind", "created_at", "business")
    search_fields = ("action", "actor_label", "target", "lead_ids")
    list_select_related = ("business",)
    date_hierarchy = "created_at"
    show_full_result_count = False  # no COUNT over a year of rows per page view
    readonly_fields = (
        "created_at",
        "business",
        "actor_kind",
        "actor_id",
        "actor_label",
        "action",
        "target",
        "lead_ids",
        "lead_count",
        "details",
    )
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
