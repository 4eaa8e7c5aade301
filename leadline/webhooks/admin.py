"""Operator console for webhooks: endpoints (never their secrets), deliveries and events."""

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone
from django.utils.html import format_html

from leadline.campaigns.models import Campaign
from leadline.core.admin_helpers import ReadOnlyAdmin, count_of
from leadline.core.errors import ApiError
from leadline.core.phones import mask_numbers_in_text, mask_own_number, mask_phone

from .models import SUBSCRIBABLE_TYPES, Delivery, DeliveryAttempt, Event, WebhookEndpoint
from .services import delivery_redeliver, endpoint_disable, endpoint_enable, endpoint_update
from .ssrf_guard import url_check

DISABLED_BY_OPERATOR = "Disabled by an operator."


class WebhookEndpointForm(forms.ModelForm):
    """The settings an operator may change; the secrets are not fields of this form at all."""

    event_types = forms.MultipleChoiceField(
        choices=[(t.value, t.label) for t in SUBSCRIBABLE_TYPES],
        widget=forms.CheckboxSelectMultiple,
    )

    # No Meta: WebhookEndpointAdmin.fields names exactly what the form may hold.

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        campaign = self.fields.get("campaign")
        if isinstance(campaign, forms.ModelChoiceField):
            campaign.queryset = Campaign.objects.filter(
                business_id=self.instance.business_id
            ).order_by("name")
            campaign.empty_label = "All of the business's campaigns"

    def clean_url(self):
        # The same SSRF guard as the dashboard and the CLI: no private or loopback targets.
        try:
            return url_check(self.cleaned_data["url"])
        except ApiError as exc:
            raise forms.ValidationError(exc.detail) from None

    def _at_least_one(self, name):
        value = self.cleaned_data[name]
        if value is not None and value < 1:
            raise forms.ValidationError("Must be at least 1 (disable the endpoint to stop it).")
        return value

    def clean_rate_per_minute(self):
        return self._at_least_one("rate_per_minute")

    def clean_max_in_flight(self):
        return self._at_least_one("max_in_flight")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Endpoints are created where their secret can be shown once: the dashboard or
    `leadline webhook add`. An endpoint added here would sign with a secret nobody has, and
    showing it would put it in the session's message store, so there is no add page.
    No delete either: its confirmation page would list every delivery; disable instead.
    """

    form = WebhookEndpointForm
    # A URL typed without a scheme means https (Django 6's default; silences its warning).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = (
        "pk",
        "url",
        "business",
        "campaign",
        "enabled",
        "disabled_reason",
        "event_types",
        "rate_per_minute",
        "max_in_flight",
        "last_success_at",
        "failing_since",
    )
    list_display_links = ("pk", "url")
    list_filter = ("enabled", "disabled_reason", "business", "created_at")
    list_select_related = ("business", "campaign")
    search_fields = ("url", "business__name", "campaign__public_id", "campaign__name")
    # secret_encrypted and previous_secret_encrypted are deliberately absent.
    fields = (
        "business",
        "campaign",
        "url",
        "event_types",
        "rate_per_minute",
        "max_in_flight",
        "enabled",
        "disabled_reason",
        "created_at",
        "last_success_at",
        "failing_since",
        "previous_secret_expires_at",
    )
    readonly_fields = (
        "business",
        "enabled",
        "disabled_reason",
        "created_at",
        "last_success_at",
        "failing_since",
        "previous_secret_expires_at",
    )
    actions = ("disable", "enable")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # Never obj.save(): a full save would write back the secret and the enabled state as
        # they were when the page loaded, undoing a rotation or an automatic disable made
        # meanwhile. The service writes the target; pacing has no rule beyond the form's.
        endpoint_update(
            endpoint=obj,
            url=form.cleaned_data["url"],
            campaign=form.cleaned_data["campaign"],
            event_types=form.cleaned_data["event_types"],
        )
        obj.save(update_fields=["rate_per_minute", "max_in_flight"])

    @admin.action(description="Disable selected endpoints")
    def disable(self, request, queryset):
        endpoints = list(queryset.filter(enabled=True))
        for endpoint in endpoints:
            endpoint_disable(endpoint=endpoint, reason=DISABLED_BY_OPERATOR)
        self.message_user(request, f"Disabled {len(endpoints)} endpoint(s).", messages.SUCCESS)

    @admin.action(description="Enable selected endpoints")
    def enable(self, request, queryset):
        endpoints = list(queryset.filter(enabled=False))
        for endpoint in endpoints:
            endpoint_enable(endpoint=endpoint)
        self.message_user(request, f"Enabled {len(endpoints)} endpoint(s).", messages.SUCCESS)


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    max_num = 0
    can_delete = False
    fields = ("attempted_at", "status_code", "latency_ms", "error", "response_masked")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="response excerpt")
    def response_masked(self, obj: DeliveryAttempt) -> str:
        # A receiver may echo the payload back: its numbers stay masked here as everywhere.
        return mask_numbers_in_text(obj.response_excerpt)


class EventTypeFilter(admin.SimpleListFilter):
    title = "event type"
    parameter_name = "event_type"

    def lookups(self, request, model_admin):
        return Event.Type.choices

    def queryset(self, request, queryset):
        return queryset.filter(event__type=self.value()) if self.value() else queryset


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Read-only history; the one write is "Redeliver", through the service."""

    list_display = (
        "pk",
        "status",
        "endpoint",
        "event_type",
        "attempts_count",
        "next_attempt_at",
        "last_status_code",
        "created_at",
        "delivered_at",
    )
    list_filter = ("status", EventTypeFilter, "endpoint__business", "endpoint", "created_at")
    list_select_related = ("endpoint",)
    search_fields = ("message_id", "endpoint__url", "endpoint__business__name")
    ordering = ("-pk",)
    show_full_result_count = False  # deliveries run into millions; no COUNT(*) per page
    fields = (
        "message_id",
        "endpoint",
        "event",
        "status",
        "attempts_count",
        "next_attempt_at",
        "lease_expires_at",
        "created_at",
        "delivered_at",
    )
    readonly_fields = fields
    inlines = (DeliveryAttemptInline,)
    actions = ("redeliver",)

    def get_queryset(self, request):
        last_attempt = DeliveryAttempt.objects.filter(delivery=OuterRef("pk")).order_by("-pk")
        return (
            super()
            .get_queryset(request)
            .annotate(
                # Joined, not select_related: the list needs the type, not the payload.
                event_type=F("event__type"),
                last_status_code=Subquery(last_attempt.values("status_code")[:1]),
            )
        )

    @admin.display(description="event type", ordering="event_type")
    def event_type(self, obj):
        return obj.event_type

    @admin.display(description="last code", ordering="last_status_code")
    def last_status_code(self, obj):
        return obj.last_status_code

    @admin.action(description="Redeliver (same webhook-id)")
    def redeliver(self, request, queryset):
        queued, skipped = 0, []
        now = timezone.now()
        for delivery in queryset.select_related("event"):
            if delivery.lease_expires_at is not None and delivery.lease_expires_at > now:
                # A worker holds it right now: queueing it again could post it twice at once.
                skipped.append(f"{delivery.pk}: being delivered right now")
                continue
            try:
                delivery_redeliver(delivery=delivery)
            except ApiError as exc:  # e.g. the lead was erased: nothing left to send
                skipped.append(f"{delivery.pk}: {exc.detail}")
                continue
            queued += 1
        self.message_user(request, f"Queued {queued} delivery(ies) again.", messages.SUCCESS)
        if skipped:
            self.message_user(request, "Skipped " + "; ".join(skipped), messages.WARNING)


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    fields = ("endpoint", "status", "attempts_count", "next_attempt_at", "delivered_at")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("endpoint")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _phone_numbers(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["phone_number"]} if isinstance(value.get("phone_number"), str) else set()
        return found.union(*(_phone_numbers(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_phone_numbers(v) for v in value))
    return set()


def _payload_masked(value: Any, numbers: set[str]) -> Any:
    """The payload with its leads' numbers masked: as `phone_number` and wherever else the
    same number was written (a name, a custom field), in any spelling."""
    if isinstance(value, dict):
        return {
            key: mask_phone(item)
            if key == "phone_number" and isinstance(item, str) and item
            else _payload_masked(item, numbers)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_payload_masked(item, numbers) for item in value]
    if isinstance(value, str):
        for number in numbers:
            value = mask_own_number(value, number)
    return value


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """The outbox, read-only. The payload is the lead's GET item: operators run the platform
    and need to see what was sent, but the lead's number is masked here as the lead admin
    hides it (a number is not needed to debug a delivery). No secret is in it."""

    list_display = ("pk", "type", "business", "campaign", "deliveries_count", "created_at")
    list_filter = ("type", "business", "created_at")
    list_select_related = ("business", "campaign")
    search_fields = ("campaign__public_id", "campaign__name", "business__name")
    ordering = ("-pk",)
    show_full_result_count = False
    fields = ("type", "business", "campaign", "lead", "created_at", "payload_pretty")
    readonly_fields = fields
    inlines = (DeliveryInline,)

    def get_queryset(self, request):
        deliveries = Delivery.objects.all()
        return (
            super().get_queryset(request).annotate(deliveries_count=count_of(deliveries, "event"))
        )

    @admin.display(description="deliveries", ordering="deliveries_count")
    def deliveries_count(self, obj):
        return obj.deliveries_count

    @admin.display(description="payload (phone numbers masked)")
    def payload_pretty(self, obj):
        masked = _payload_masked(obj.payload, _phone_numbers(obj.payload))
        return format_html("<pre>{}</pre>", json.dumps(masked, indent=2, ensure_ascii=False))
