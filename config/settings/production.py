"""Production: everything sensitive must come from the environment, served over HTTPS only.

Settings that would be unsafe here refuse to load (ImproperlyConfigured) rather than warn:
a warning in a log is read after the incident.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import (
    LEADLINE_ENCRYPTION_KEY,
    LEADLINE_NUMBER_HASH_KEY,
    LEADLINE_PUBLIC_URL,
    LEADLINE_WEBHOOK_ALLOW_PRIVATE,
    SECRET_KEY,
)
from .secure import *  # noqa: F403

if not SECRET_KEY:
    raise ImproperlyConfigured("LEADLINE_SECRET_KEY must be set in production")
# Webhook secrets must not be readable by whoever learns SECRET_KEY (or the reverse), and
# rotating one must not force rotating the other.
if not LEADLINE_ENCRYPTION_KEY or LEADLINE_ENCRYPTION_KEY == SECRET_KEY:
    raise ImproperlyConfigured(
        "LEADLINE_ENCRYPTION_KEY must be set in production, to a key other than "
        "LEADLINE_SECRET_KEY (it encrypts webhook secrets at rest)"
    )
# Do-not-call lists, consents and DND answers name numbers by a keyed hash. Without its own key
# the hashes would follow SECRET_KEY, and the first rotation of that would silently empty every
# do-not-call list (no entry would match any number again): numbers on it would be called.
if not LEADLINE_NUMBER_HASH_KEY.strip():
    raise ImproperlyConfigured(
        "LEADLINE_NUMBER_HASH_KEY must be set in production, and never changed: it keys the "
        "number hashes of the do-not-call lists (a new key makes every entry unmatchable)"
    )
if LEADLINE_WEBHOOK_ALLOW_PRIVATE:
    raise ImproperlyConfigured(
        "LEADLINE_WEBHOOK_ALLOW_PRIVATE must be off in production: it lets a client make us "
        "call loopback and private addresses (SSRF)"
    )
# Recording links and webhook payloads carry this base; over http they would leak signed
# links and the audio itself to anyone on the path.
if not LEADLINE_PUBLIC_URL.startswith("https://"):
    raise ImproperlyConfigured(
        f"LEADLINE_PUBLIC_URL must be an https:// URL in production, not {LEADLINE_PUBLIC_URL!r}"
    )
