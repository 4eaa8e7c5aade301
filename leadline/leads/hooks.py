"""Where higher layers plug into what happens to a lead, without leads importing them.

Leads sit below the dialer and webhooks, yet a lead's life concerns both: erasure must reach
the dialer's call attempts and recordings and the webhooks' stored payloads, and a processed,
converted, disabled or erased lead is announced through the webhooks' outbox. Rather than
leads importing those apps (an import cycle), they register here from their `AppConfig.ready()`
and leads' services call the hooks inside their own transaction, the way worker loops register
with `core.loops`. Registration is explicit and happens once per process; the hooks run in the
order the apps are installed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from leadline.campaigns.models import Campaign

    from .models import Lead

# The lead events a client can be told about (the outbox's types use these values).
LEAD_PROCESSED = "lead.processed"
LEAD_CONVERTED = "lead.converted"
LEAD_DISABLED = "lead.disabled"
LEAD_ERASED = "lead.erased"


class LeadEventRecorder(Protocol):
    def record(self, *, lead: Lead, type: str, payload: dict[str, Any]) -> None:
        """Record an event that is always kept (lead.processed: GET reads it back)."""

    def record_many(
        self, *, campaign: Campaign, type: str, items: list[tuple[Lead, dict[str, Any]]]
    ) -> None:
        """`record` for many leads of one campaign at once (kept like `record`)."""

    def record_optional(
        self, *, campaign: Campaign, type: str, items: list[tuple[Lead, dict[str, Any]]]
    ) -> int:
        """Record events only someone subscribed to; returns how many were kept."""


# What an erasure receipt counts, by key (the API's and the dashboard's names for them).
ERASURE_COUNTS = (
    "attempt_answers",  # call attempts whose captured answers were removed
    "recordings",  # recording files of ours
    "provider_recordings",  # copies still held by a telephony provider, deleted by the worker
    "webhook_payloads",  # stored event payloads scrubbed
    "webhook_excerpts",  # receivers' response excerpts scrubbed
    "deliveries_cancelled",  # webhook deliveries not yet sent, cancelled
    "import_report_rows",  # CSV import problem rows that named the lead
    "stored_responses",  # Idempotency-Key responses that quoted the lead, deleted
    "audit_entries_kept",  # audit entries naming the lead, kept with only its lead_id
)


@dataclass
class ErasureOutcome:
    """What a hook removed: counts by ERASURE_COUNTS key, and storage paths of files to delete
    once the erasure commits (deleting them inside it could not be rolled back)."""

    counts: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def add(self, other: ErasureOutcome) -> None:
        for key, value in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + value
        self.files.extend(other.files)


# Called with the lead inside the erasure's transaction; each removes what its app keeps.
ErasureHook = Callable[["Lead"], ErasureOutcome]
# Given tombstone pks, returns those whose erasure still has work outside the database
# (a provider's copy to delete, a call still live): their receipts stay pending.
ErasurePendingCheck = Callable[[Collection[int]], set[int]]

_event_recorders: list[LeadEventRecorder] = []
_erasure_hooks: list[ErasureHook] = []
_erasure_pending_checks: list[ErasurePendingCheck] = []


def register_event_recorder(recorder: LeadEventRecorder) -> None:
    if recorder not in _event_recorders:
        _event_recorders.append(recorder)


def register_erasure_hook(hook: ErasureHook) -> None:
    if hook not in _erasure_hooks:
        _erasure_hooks.append(hook)


def register_erasure_pending_check(check: ErasurePendingCheck) -> None:
    if check not in _erasure_pending_checks:
        _erasure_pending_checks.append(check)


def lead_event(*, lead: Lead, type: str, payload: dict[str, Any]) -> None:
    """Announce a lead event; call inside the transaction of the change it announces."""
    for recorder in _event_recorders:
        recorder.record(lead=lead, type=type, payload=payload)


def lead_events(*, campaign: Campaign, type: str, items: list[tuple[Lead, dict[str, Any]]]) -> None:
    """`lead_event` for many leads of one campaign (a batch processed at once)."""
    if not items:
        return
    for recorder in _event_recorders:
        recorder.record_many(campaign=campaign, type=type, items=items)


def lead_events_optional(
    *, campaign: Campaign, type: str, items: list[tuple[Lead, dict[str, Any]]]
) -> None:
    """Announce optional lead events (converted, disabled, erased) to whoever subscribed."""
    if not items:
        return
    for recorder in _event_recorders:
        recorder.record_optional(campaign=campaign, type=type, items=items)


def lead_erasure_run(lead: Lead) -> ErasureOutcome:
    """Let every registered app remove its traces of the lead (inside the erasure)."""
    outcome = ErasureOutcome()
    for hook in _erasure_hooks:
        outcome.add(hook(lead))
    return outcome


def lead_erasure_pending(tombstone_pks: Collection[int]) -> set[int]:
    """The tombstones (of these) whose erasure some app has not finished outside the database."""
    pending: set[int] = set()
    for check in _erasure_pending_checks:
        pending |= check(tombstone_pks)
    return pending
