"""Webhook delivery, and the retention of what the outbox stores, run in the worker."""

from leadline.core.loops import register, register_factory

from . import services
from .delivery import DeliveryLoop

register_factory("deliver-webhooks", interval_seconds=0.2, factory=DeliveryLoop)


@register("purge-webhook-payloads", interval_seconds=600)
def purge_webhook_payloads() -> int:
    # Each business's event_payload_retention_days, counted once every delivery finished.
    return services.events_purge_payloads()


@register("purge-webhook-response-excerpts", interval_seconds=600)
def purge_webhook_response_excerpts() -> int:
    # Each business's response_excerpt_retention_days: receivers' answers may echo the payload.
    return services.attempts_purge_excerpts()
