"""HMAC-SHA256 under one fixed key over many messages, built by hand (RFC 2104).

An `hmac` object per message sets up its key every time; two SHA-256 states that have
absorbed the key's inner and outer pads once, copied per message, give the same digest at
about half the cost. The hot users: a create hashes every number of its batch
(`compliance.hashing`), a results page or an export signs a URL per recording
(`core.recordings`). The padded keys are also what PostgreSQL needs to compute the same
HMAC with its own `sha256` (the export's recording URLs).
"""

import functools
import hashlib

_BLOCK = hashlib.sha256().block_size


def sha256_pads(key: bytes) -> tuple[bytes, bytes]:
    """The key's (inner, outer) padded blocks: a key longer than a block is hashed first,
    then zero-filled to one block and XOR-ed with 0x36 and 0x5C."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    block = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


class KeyedSha256:
    """HMAC-SHA256 under one key, its pads absorbed once (tests compare it with `hmac`)."""

    def __init__(self, key: bytes) -> None:
        inner, outer = sha256_pads(key)
        self._inner = hashlib.sha256(inner)
        self._outer = hashlib.sha256(outer)

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


@functools.lru_cache(maxsize=8)
def keyed_sha256(key: bytes) -> KeyedSha256:
    """The primed HMAC for `key`, kept: callers derive the same few keys over and over."""
    return KeyedSha256(key)
