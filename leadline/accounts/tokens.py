"""API token format and hashing: `ll_<prefix>_<secret>`, only a SHA-256 of the whole is stored."""

import hashlib
import secrets

TOKEN_SCHEME = "ll"


def generate_token() -> tuple[str, str]:
    """A fresh (token, prefix); the prefix identifies the token in lists without revealing it."""
    prefix = secrets.token_hex(4)
    return f"{TOKEN_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}", prefix


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast unsalted hash is enough (no brute force possible)
    # and lets each request find its token with one indexed lookup.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
