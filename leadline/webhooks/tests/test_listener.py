"""The listener's signature check: what `leadline webhook listen` accepts and refuses."""

import time

from leadline.webhooks import listener
from leadline.webhooks.signing import secret_generate, signature

BODY = b'{"lead_id": "L1", "lead_outcome": "Interested", "phone_number": "9876543210"}'


def headers(secret: str, *, at: int, signatures: str | None = None) -> dict[str, str]:
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(at),
        "webhook-signature": signatures or signature(secret, "msg_1", at, BODY),
        "webhook-event-type": "lead.processed",
    }


def test_a_delivery_signed_with_the_secret_verifies():
    secret, now = secret_generate(), int(time.time())
    assert listener.verify(secret, headers(secret, at=now), BODY, now) == ""


def test_any_of_several_signatures_is_enough_during_a_rotation():
    secret, old, now = secret_generate(), secret_generate(), int(time.time())
    both = f"{signature(old, 'msg_1', now, BODY)} {signature(secret, 'msg_1', now, BODY)}"
    assert listener.verify(secret, headers(secret, at=now, signatures=both), BODY, now) == ""


def test_wrong_secret_tampered_body_old_timestamp_and_missing_headers_are_refused():
    secret, other, now = secret_generate(), secret_generate(), int(time.time())
    assert "no signature" in listener.verify(secret, headers(other, at=now), BODY, now)
    assert "no signature" in listener.verify(secret, headers(secret, at=now), BODY + b" ", now)
    stale = now - listener.TIMESTAMP_TOLERANCE_SECONDS - 1
    assert "tolerance" in listener.verify(secret, headers(secret, at=stale), BODY, now)
    assert "missing" in listener.verify(secret, {}, BODY, now)


def test_what_is_printed_names_the_lead_never_its_number():
    secret, now = secret_generate(), int(time.time())
    receiver = listener.Listener(secret=secret, on_event=lambda r: None)
    try:
        status, received = receiver.receive(headers(secret, at=now), BODY)
    finally:
        receiver.server.server_close()
    assert status == 200 and received.verified
    assert (received.lead_id, received.outcome) == ("L1", "Interested")
    assert "9876543210" not in received.line() + str(received.as_dict())
