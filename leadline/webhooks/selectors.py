"""Reads of webhook configuration and delivery history, always scoped to one business."""

from .models import AUTO_DISABLE_REASONS, WebhookEndpoint


def endpoints_auto_disabled(*, business_id: int) -> list[WebhookEndpoint]:
    """Endpoints the platform turned off by itself (410, or 5 days of failures)."""
    return list(
        WebhookEndpoint.objects.filter(
            business_id=business_id, enabled=False, disabled_reason__in=AUTO_DISABLE_REASONS
        ).only("pk", "url", "disabled_reason")
    )
