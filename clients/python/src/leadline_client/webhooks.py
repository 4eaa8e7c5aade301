"""Verify Leadline webhooks (Standard Webhooks signatures) and parse their body.

Each delivery carries `webhook-id`, `webhook-timestamp` (epoch seconds of this try) and
`webhook-signature`: space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed
with the base64 part of your `whsec_` secret. Right after a secret rotation the header holds
one signature per live secret; any one matching is enough.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._errors import WebhookVerificationError
from ._models import LeadResult

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300  # seconds either way: the Standard Webhooks recommendation
# Events whose body is a lead's result item (the GET shape).
LEAD_RESULT_EVENTS = frozenset({"lead.processed", "webhook.test"})


@dataclass(frozen=True)
class WebhookEvent:
    """A verified delivery. `id` is the same on every retry of one delivery: use it to drop
    duplicates (delivery is at least once)."""

    id: str
    type: str | None
    timestamp: int
    data: dict[str, Any]

    @property
    def lead(self) -> LeadResult | None:
        """The lead's result, for `lead.processed` (and the dashboard's test event)."""
        if self.type in LEAD_RESULT_EVENTS or (self.type is None and "processed_at" in self.data):
            return LeadResult.from_dict(self.data)
        return None


def _header(headers: Mapping[str, str], name: str) -> str:
    # Frameworks differ in header case; a plain dict may hold any spelling.
    value = headers.get(name)
    if value is None:
        lowered = {str(k).lower(): v for k, v in headers.items()}
        value = lowered.get(name)
    if value is None:
        raise WebhookVerificationError(f"missing header {name}")
    return str(value)


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError("the secret is not a whsec_ base64 secret") from None


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64>` signature Leadline sends (for tests of your receiver)."""
    mac = hmac.digest(_key(secret), b"%s.%d.%s" % (message_id.encode(), timestamp, body), "sha256")
    return "v1," + base64.b64encode(mac).decode()


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> WebhookEvent:
    """Check a delivery and return its parsed event; raise WebhookVerificationError if the
    signature does not match any of `secret` (one, or several while you rotate), or the
    timestamp is more than `tolerance` seconds away (a replayed old delivery).

    `body` must be the raw bytes as received: re-serialised JSON would not match.
    """
    raw = body.encode() if isinstance(body, str) else bytes(body)
    message_id = _header(headers, "webhook-id")
    try:
        timestamp = int(_header(headers, "webhook-timestamp"))
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance")
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets:
        raise WebhookVerificationError("no secret given")
    expected = [sign(s, message_id, timestamp, raw).encode() for s in secrets]
    offered = _header(headers, "webhook-signature").split()
    matched = any(hmac.compare_digest(sig.encode(), want) for sig in offered for want in expected)
    if not matched:
        raise WebhookVerificationError("no signature matches the secret")
    try:
        data = json.loads(raw)
    except ValueError:
        raise WebhookVerificationError("the body is not JSON") from None
    if not isinstance(data, dict):
        raise WebhookVerificationError("the body is not a JSON object")
    event_type = headers.get("webhook-event-type") or {
        str(k).lower(): v for k, v in headers.items()
    }.get("webhook-event-type")
    return WebhookEvent(id=message_id, type=event_type, timestamp=timestamp, data=data)
