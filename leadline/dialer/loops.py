"""Dialer housekeeping in the worker."""

from leadline.core.loops import register, register_factory

from . import dnd, reports, services


@register("expire-dialer-leases", interval_seconds=30)
def expire_leases() -> int:
    # Claims already ignore expired leases; clearing them keeps "held by" views honest.
    return services.leases_expire()


@register("purge-recordings", interval_seconds=600)
def purge_recordings() -> int:
    # Each business's recording_retention_days, by call time; a batch per run, and the worker
    # runs it again at once while there is more.
    return services.recordings_purge()


@register("reconcile-calls", interval_seconds=60)
def reconcile_calls() -> int:
    # Providers drop status callbacks (Exotel retries twice, then gives up): a call with no
    # final status after a few minutes is read back from the provider.
    return services.calls_reconcile()


@register("fetch-recordings", interval_seconds=15)
def fetch_recordings() -> int:
    # Real providers publish recordings minutes after the call; each is retried with backoff.
    return services.recordings_fetch()


@register("delete-provider-recordings", interval_seconds=60)
def delete_provider_recordings() -> int:
    # Once stored here (or the lead erased), the provider's copy goes where it can.
    return services.recordings_provider_delete()


@register("reps-silent-offline", interval_seconds=30)
def reps_silent_offline() -> int:
    # A console closed without signing out: after two minutes without a heartbeat the rep is
    # offline and the lead they held goes back to the queue.
    return services.reps_silent_offline()


@register("compact-report-days", interval_seconds=5)
def compact_report_days() -> int:
    # Keeps the report pages' reads at about one row per figure (see dialer.reports).
    return reports.report_days_compact()


# DND status of queued leads of promotional campaigns, asked of the registry file and the
# providers here so that the claim (inside its transaction) only reads the cache.
register_factory("dnd-lookups", interval_seconds=60, factory=dnd.DndLookups)
