"""Dialer housekeeping in the worker."""

from leadline.core.loops import register

from . import services


@register("expire-dialer-leases", interval_seconds=30)
def expire_leases() -> int:
    # Claims already ignore expired leases; clearing them keeps "held by" views honest.
    return services.leases_expire()
