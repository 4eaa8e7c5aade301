"""Standard Webhooks signatures: `v1,` + base64(HMAC-SHA256(key, "id.timestamp.body"))."""

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def secret_generate() -> str:
    """A new signing secret: `whsec_` + base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signature_header(secrets_in_use: list[str], message_id: str, timestamp: int, body: bytes):
    """Space-separated signatures: during a rotation, one per secret still in use."""
    return " ".join(signature(s, message_id, timestamp, body) for s in secrets_in_use)
