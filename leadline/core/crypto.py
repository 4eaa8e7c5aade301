"""Encryption of secrets we must be able to use again (webhook signing secrets).

Hashing would not do: signing needs the secret itself. Fernet (AES-128-CBC + HMAC-SHA256)
with a key derived from LEADLINE_ENCRYPTION_KEY, or from SECRET_KEY when that is unset (dev
only: production refuses to start without a dedicated key), so a stolen database alone
reveals nothing.

Rotation follows Django's SECRET_KEY_FALLBACKS: new encryptions use the current key, and
LEADLINE_ENCRYPTION_KEY_FALLBACKS (previous keys) still decrypt, so a key can change without
downtime; `reencrypt` (the `leadline rotate_keys` command) moves stored secrets onto the
current key, after which the fallbacks can be dropped.
"""

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@functools.cache
def _fernet(material: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"leadline-secrets", info=b"fernet-v1"
    ).derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


@functools.lru_cache(maxsize=8)
def _multi(materials: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_fernet(material) for material in materials])


def _keys() -> MultiFernet:
    """The current key first (MultiFernet encrypts with it), then the previous ones."""
    current = settings.LEADLINE_ENCRYPTION_KEY or settings.SECRET_KEY
    return _multi((current, *settings.LEADLINE_ENCRYPTION_KEY_FALLBACKS))


def encrypt(plaintext: str) -> str:
    return _keys().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _keys().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("secret cannot be decrypted with the configured keys") from exc


def reencrypt(token: str) -> str:
    """The same secret encrypted under the current key (from the current or a previous one)."""
    try:
        return _keys().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("secret cannot be decrypted with the configured keys") from exc
