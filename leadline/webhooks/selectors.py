"""Reads of webhook configuration and delivery history, always scoped to one business."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Prefetch

from leadline.accounts.models import Business
from leadline.core.errors import NotFound

from .models import AUTO_DISABLE_REASONS, Delivery, DeliveryAttempt, WebhookEndpoint


def endpoints_auto_disabled(*, business_id: int) -> list[WebhookEndpoint]:
    """Endpoints the platform turned off by itself (410, or 5 days of failures)."""
    return list(
        WebhookEndpoint.objects.filter(
            business_id=business_id, enabled=False, disabled_reason__in=AUTO_DISABLE_REASONS
        ).only("pk", "url", "disabled_reason")
    )


ENDPOINTS_SHOWN = 100
DELIVERIES_PAGE = 20
# Attempts shown under each delivery; `Delivery.attempts_count` gives the total.
ATTEMPTS_SHOWN = 10


def endpoints_for_business(*, business: Business) -> list[WebhookEndpoint]:
    return list(
        WebhookEndpoint.objects.filter(business=business)
        .select_related("campaign")
        .order_by("pk")[:ENDPOINTS_SHOWN]
    )


def endpoint_get(*, business: Business, pk: int) -> WebhookEndpoint:
    """The business's endpoint; another business's is reported missing, like an unknown one."""
    endpoint = (
        WebhookEndpoint.objects.select_related("campaign").filter(business=business, pk=pk).first()
    )
    if endpoint is None:
        raise NotFound("Webhook endpoint not found.")
    return endpoint


def delivery_get(*, endpoint: WebhookEndpoint, pk: int) -> Delivery:
    """A delivery of this endpoint (the caller already scoped the endpoint to a business)."""
    delivery = Delivery.objects.select_related("event").filter(endpoint=endpoint, pk=pk).first()
    if delivery is None:
        raise NotFound("Delivery not found.")
    return delivery


@dataclass(frozen=True)
class DeliveriesPage:
    deliveries: Sequence[Delivery]
    # The `before` cursor of the next (older) page, or None on the last page.
    older: int | None


def endpoint_deliveries_page(
    *,
    endpoint: WebhookEndpoint,
    before: int | None = None,
    status: str | None = None,
    size: int = DELIVERIES_PAGE,
) -> DeliveriesPage:
    """Newest first, keyset by id (index `delivery_endpoint_recent_idx`), with recent attempts.

    A keyset rather than page numbers: an endpoint can have millions of deliveries, and new
    ones arriving while someone pages do not shift what the next page shows.
    """
    deliveries = Delivery.objects.filter(endpoint=endpoint)
    if status:
        deliveries = deliveries.filter(status=status)
    if before is not None:
        deliveries = deliveries.filter(id__lt=before)
    recent_attempts = DeliveryAttempt.objects.order_by("-pk")[:ATTEMPTS_SHOWN]
    rows = list(
        deliveries.select_related("event")
        # The payload can be large and the page does not show it.
        .defer("event__payload")
        .prefetch_related(Prefetch("attempts", queryset=recent_attempts, to_attr="recent"))
        .order_by("-id")[: size + 1]
    )
    older = rows[size - 1].pk if len(rows) > size else None
    return DeliveriesPage(rows[:size], older)
