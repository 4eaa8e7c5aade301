"""`leadline webhook listen`: a local receiver for a campaign's webhooks, for developers.

The workflow Stripe's CLI made usual: while it runs, a temporary endpoint of the campaign
points at a receiver on 127.0.0.1; every delivery's signature is checked with that endpoint's
secret and the event is printed, or passed on to the developer's own handler with its original
headers so they can test their verification too. The endpoint is removed on exit.

The receiver is on a private address, so the deliveries only go out where the private-address
guard is lifted (`LEADLINE_WEBHOOK_ALLOW_PRIVATE=1`, as `make run` does for the demo; production
settings refuse it): the command says so rather than registering an endpoint nothing reaches.
"""

import dataclasses
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from .signing import signature

# Standard Webhooks' recommended tolerance: older (or future) timestamps are replays.
TIMESTAMP_TOLERANCE_SECONDS = 5 * 60
MAX_BODY = 1024 * 1024
FORWARD_TIMEOUT_SECONDS = 10
# Headers passed on to the developer's handler as they came (hop-by-hop ones are not).
FORWARDED_HEADERS = (
    "content-type",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "webhook-event-type",
    "user-agent",
)


@dataclass(frozen=True)
class Received:
    """What the listener prints about one delivery (never a phone number: see `summary`)."""

    event_type: str
    delivery_id: str
    verified: bool
    problem: str
    lead_id: str | None
    outcome: str | None
    forwarded_status: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_type": self.event_type,
            "lead_id": self.lead_id,
            "outcome": self.outcome,
            "delivery_id": self.delivery_id,
            "signature": "verified" if self.verified else f"REJECTED: {self.problem}",
            "forwarded_status": self.forwarded_status,
        }

    def line(self) -> str:
        parts = [self.event_type or "?", f"lead_id={self.lead_id}"]
        if self.outcome:
            parts.append(f"outcome={self.outcome!r}")
        parts.append(f"delivery={self.delivery_id}")
        parts.append("signature verified" if self.verified else f"REJECTED ({self.problem})")
        if self.forwarded_status is not None:
            parts.append(f"-> {self.forwarded_status}")
        return "  ".join(parts)


def verify(secret: str, headers: dict[str, str], body: bytes, now: float) -> str:
    """'' if the delivery is signed by `secret` within the tolerance, else what is wrong."""
    message_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "").split()
    if not message_id or not stamp.isdigit() or not signatures:
        return "missing webhook-id, webhook-timestamp or webhook-signature"
    if abs(now - int(stamp)) > TIMESTAMP_TOLERANCE_SECONDS:
        return "timestamp outside the 5-minute tolerance"
    expected = signature(secret, message_id, int(stamp), body)
    # Several signatures during a secret rotation: any one of ours is enough.
    if any(hmac.compare_digest(expected, given) for given in signatures):
        return ""
    return "no signature matches this endpoint's secret"


def summary(event_type: str, body: bytes) -> tuple[str | None, str | None]:
    """The lead_id and outcome of a delivery's body; the rest (a phone number) is not shown."""
    try:
        data = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    lead_id = data.get("lead_id")
    outcome = data.get("lead_outcome") if event_type == "lead.processed" else None
    return (str(lead_id) if lead_id is not None else None), (str(outcome) if outcome else None)


class Listener:
    """The HTTP receiver; `on_event` is called once per delivery, from the server's threads."""

    def __init__(
        self,
        *,
        secret: str,
        on_event: Callable[[Received], None],
        port: int = 0,
        forward_url: str | None = None,
    ):
        self.secret = secret
        self.on_event = on_event
        self.forward_url = forward_url
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def serve(self) -> None:
        self.server.serve_forever(poll_interval=0.2)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve, name="webhook-listener", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def receive(self, headers: dict[str, str], body: bytes) -> tuple[int, Received]:
        event_type = headers.get("webhook-event-type", "")
        problem = verify(self.secret, headers, body, time.time())
        lead_id, outcome = summary(event_type, body)
        received = Received(
            event_type=event_type,
            delivery_id=headers.get("webhook-id", ""),
            verified=not problem,
            problem=problem,
            lead_id=lead_id,
            outcome=outcome,
        )
        if problem:
            # 400: the worker records a failed attempt and retries, as a real receiver would.
            return 400, received
        if self.forward_url is None:
            return 200, received
        forwarded = {k: v for k, v in headers.items() if k in FORWARDED_HEADERS}
        try:
            response = requests.post(
                self.forward_url, data=body, headers=forwarded, timeout=FORWARD_TIMEOUT_SECONDS
            )
            status = response.status_code
        except requests.RequestException:
            status = 502
        # The handler's answer is ours: a failing handler makes the worker retry, as it would
        # in production.
        return status, dataclasses.replace(received, forwarded_status=status)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self.send_response(413)
                    self.end_headers()
                    return
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, received = listener.receive(headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                listener.on_event(received)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # each delivery is printed once, by on_event

        return Handler
