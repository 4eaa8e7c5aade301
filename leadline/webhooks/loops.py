"""Webhook delivery runs in the worker."""

from leadline.core.loops import register_factory

from .delivery import DeliveryLoop

register_factory("deliver-webhooks", interval_seconds=0.2, factory=DeliveryLoop)
