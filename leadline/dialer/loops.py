"""Dialer housekeeping in the worker."""

from leadline.core.loops import register

from . import services


@register("expire-dialer-leases", interval_seconds=30)
def expire_leases() -> int:
    # Claims already ignore expired leases; clearing them keeps "held by" views honest.
    return services.leases_expire()


@register("purge-recordings", interval_seconds=600)
def purge_recordings() -> int:
    # Each business's recording_retention_days, by call time; a batch per run, and the worker
    # runs it again at once while there is more.
    return services.recordings_purge()
