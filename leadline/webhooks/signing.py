"""Standard Webhooks signatures: `v1,` + base64(HMAC-SHA256(key, "id.timestamp.body"))."""

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def secret_generate() -> str:
    """A new signing secret: `whsec_` + base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_` secret (decode once per endpoint, not once per post)."""
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature_with_key(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.digest(key, b"%s.%d.%s" % (message_id.encode(), timestamp, body), hashlib.sha256)
    return "v1," + base64.b64encode(mac).decode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    return signature_with_key(secret_key(secret), message_id, timestamp, body)


def signature_header_keys(keys: list[bytes], message_id: str, timestamp: int, body: bytes):
    """Space-separated signatures: during a rotation, one per secret still in use."""
    if len(keys) == 1:
        return signature_with_key(keys[0], message_id, timestamp, body)
    return " ".join(signature_with_key(k, message_id, timestamp, body) for k in keys)
