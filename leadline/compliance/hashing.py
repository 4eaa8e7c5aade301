"""Keyed hashes of phone numbers: how compliance tables name a number without holding it.

HMAC-SHA256 of the E.164 number under a key derived from LEADLINE_NUMBER_HASH_KEY (or, when
unset outside production, from SECRET_KEY). Unlike encryption keys it cannot be rotated by
re-encrypting: a new key makes every stored hash unmatchable, so production requires its own
stable key (config.settings.production) and it never follows SECRET_KEY rotations.
"""

import functools
import hashlib
import hmac
from collections.abc import Iterable

from django.conf import settings

from leadline.core.hmacs import keyed_sha256
from leadline.core.phones import normalize_indian_phone


@functools.lru_cache(maxsize=4)
def _key(material: str) -> bytes:
    return hashlib.sha256(b"leadline-number-hash-v1:" + material.encode()).digest()


def number_hash(e164: str) -> str:
    """The keyed hash of an already normalised E.164 number (64 hex characters)."""
    material = settings.LEADLINE_NUMBER_HASH_KEY or settings.SECRET_KEY
    return hmac.new(_key(material), e164.encode(), hashlib.sha256).hexdigest()


def number_hashes(e164s: Iterable[str]) -> list[str]:
    """`[number_hash(n) for n in e164s]`, at half the cost: a create hashes every number of
    its batch, and an OpenSSL HMAC object per number costs twice what `core.hmacs`' primed
    SHA-256 states do (the same HMAC, `tests` compare them)."""
    material = settings.LEADLINE_NUMBER_HASH_KEY or settings.SECRET_KEY
    digest = keyed_sha256(_key(material)).digest
    return [digest(e164.encode()).hex() for e164 in e164s]


def phone_hash(raw: str) -> str | None:
    """The keyed hash of a number as a client wrote it, or None if it is not a valid number."""
    e164 = normalize_indian_phone(raw)
    return number_hash(e164) if e164 else None
