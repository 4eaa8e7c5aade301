"""Encryption of secrets we must be able to use again (webhook signing secrets).

Hashing would not do: signing needs the secret itself. Fernet (AES-128-CBC + HMAC-SHA256)
with a key derived from LEADLINE_ENCRYPTION_KEY, or from SECRET_KEY when that is unset, so a
stolen database alone reveals nothing. Rotating the key means re-encrypting (see
docs/operations.md).
"""

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@functools.cache
def _fernet(material: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"leadline-secrets", info=b"fernet-v1"
    ).derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _key() -> Fernet:
    return _fernet(settings.LEADLINE_ENCRYPTION_KEY or settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return _key().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _key().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("secret cannot be decrypted with the configured key") from exc
