"""CSV imports run in the worker: one import at a time per worker, any number of workers."""

from leadline.core.loops import register

from . import imports


@register("process-lead-imports", interval_seconds=1)
def process_lead_imports() -> int:
    # Claims with a lease, so workers share the queue and a dead worker's import resumes.
    return imports.imports_process_next()


@register("purge-lead-imports", interval_seconds=300)
def purge_lead_imports() -> int:
    # Undecided uploads hold personal data: they expire, and old problem reports go too.
    return imports.imports_purge()
