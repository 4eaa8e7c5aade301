"""The dialer's writes: who calls which lead next (`claims`), the bridged call (`calls`), what
its outcome does (`dispositions`) and how long its recordings are kept (`retention`).

Callers use this package (`from leadline.dialer import services`; `services.lead_claim`), so
moving a service between its modules changes no caller.
"""

from ..availability import LeadUnavailable
from .calls import (
    call_callback_receive,
    call_event_record,
    call_place,
    call_refresh,
    calls_erase_for_lead,
    calls_erasure_pending,
    calls_reconcile,
)
from .claims import QUEUE_ORDER, lead_claim, lead_held_by, leases_expire
from .dispositions import (
    CALLBACK_ANYONE,
    CALLBACK_ME,
    CALLBACKS_BEYOND_MAX_ATTEMPTS,
    DISPOSED_FIELDS,
    LEAD_DISPOSITION_FIELDS,
    DispositionResult,
    disposition_submit,
)
from .provider_recordings import recordings_fetch, recordings_provider_delete
from .reservations import callback_reassign
from .retention import recordings_purge
from .states import (
    RepStateView,
    lead_skip,
    rep_available,
    rep_force_pause,
    rep_heartbeat,
    rep_offline,
    rep_pause,
    rep_state_get,
    reps_silent_offline,
)

__all__ = [
    "CALLBACKS_BEYOND_MAX_ATTEMPTS",
    "CALLBACK_ANYONE",
    "CALLBACK_ME",
    "DISPOSED_FIELDS",
    "LEAD_DISPOSITION_FIELDS",
    "QUEUE_ORDER",
    "DispositionResult",
    "LeadUnavailable",
    "RepStateView",
    "call_callback_receive",
    "call_event_record",
    "call_place",
    "call_refresh",
    "callback_reassign",
    "calls_erase_for_lead",
    "calls_erasure_pending",
    "calls_reconcile",
    "disposition_submit",
    "lead_claim",
    "lead_held_by",
    "lead_skip",
    "leases_expire",
    "recordings_fetch",
    "recordings_provider_delete",
    "recordings_purge",
    "rep_available",
    "rep_force_pause",
    "rep_heartbeat",
    "rep_offline",
    "rep_pause",
    "rep_state_get",
    "reps_silent_offline",
]
