"""CSV imports run in the worker: one import at a time per worker, any number of workers."""

from leadline.core.loops import register, register_factory

from . import counts, imports, services


@register("process-lead-imports", interval_seconds=1)
def process_lead_imports() -> int:
    # Claims with a lease, so workers share the queue and a dead worker's import resumes.
    return imports.imports_process_next()


@register("purge-lead-imports", interval_seconds=300)
def purge_lead_imports() -> int:
    # Undecided uploads hold personal data: they expire, and old problem reports go too.
    return imports.imports_purge()


@register("compact-campaign-counts", interval_seconds=5)
def compact_campaign_counts() -> int:
    # Keeps the dashboard's reads of the counts at about one row per key (see leads.counts).
    return counts.counts_compact()


class CompleteErasureReceipts:
    """Marks erasure receipts complete once their files and provider copies are gone.

    Keeps its place between runs: receipts still waiting for a provider must not stop the
    ones after them from being looked at, so each run takes the next batch and wraps around.
    """

    def __init__(self, limit: int = 100) -> None:
        self.limit = limit
        self.after_pk = 0

    def run_once(self) -> int:
        sweep = services.erasure_receipts_complete(after_pk=self.after_pk, limit=self.limit)
        self.after_pk = sweep.last_pk or 0
        # Mid-way: go on at once; at the end, rest unless something was completed.
        return sweep.checked if sweep.last_pk is not None else sweep.completed

    def close(self) -> None:
        pass


register_factory("complete-erasure-receipts", interval_seconds=30, factory=CompleteErasureReceipts)
