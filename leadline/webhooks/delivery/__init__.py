"""Webhook delivery: claim due deliveries with a lease, POST them outside any transaction, record.

At-least-once: a delivery is marked done only after its 2xx is recorded; a worker killed
mid-batch leaves leases that expire, and another worker (or the restarted one) sends those
deliveries again with the same `webhook-id`, so receivers can drop the duplicate.

Pipelined: the posts run on an asyncio event loop in the sender's own thread, while the
loop's thread (the one with the database connection) records the answers that came back and
claims the next batch as soon as fewer than CLAIM_BELOW claimed deliveries are unanswered.
The database round trips therefore overlap the posts instead of alternating with them. Each
claimed delivery yields exactly one PostResult: an HTTP try, or "released" (never posted:
the worker is stopping, its lease is too short to start a post safely, or its endpoint just
answered 410), which clears the lease so any worker can take it at once, with no attempt
counted.

Modules: `claim` (leasing), `sender` (the posts), `record` (storing what came back) and
`pipeline` (the loop tying them together).
"""

from .pipeline import DeliveryLoop

__all__ = ["DeliveryLoop"]
