"""Housekeeping of shared API state."""

from leadline.core.loops import register

from . import audit, idempotency, ratelimit


@register("purge-rate-limit-windows", interval_seconds=60)
def purge_rate_limit_windows() -> int:
    return ratelimit.purge_expired()


@register("purge-idempotency-records", interval_seconds=300)
def purge_idempotency_records() -> int:
    return idempotency.purge_expired()


@register("purge-audit-entries", interval_seconds=3600)
def purge_audit_entries() -> int:
    # Kept a year (audit.RETENTION_DAYS), then deleted in bounded batches.
    return audit.audit_entries_purge()
