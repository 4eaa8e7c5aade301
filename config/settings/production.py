"""Production: everything sensitive must come from the environment, served over HTTPS only.

Settings that would be unsafe here refuse to load (ImproperlyConfigured) rather than warn:
a warning in a log is read after the incident.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    LEADLINE_ENCRYPTION_KEY,
    LEADLINE_PUBLIC_URL,
    LEADLINE_WEBHOOK_ALLOW_PRIVATE,
    SECRET_KEY,
    env_bool,
)

if not SECRET_KEY:
    raise ImproperlyConfigured("LEADLINE_SECRET_KEY must be set in production")
# Webhook secrets must not be readable by whoever learns SECRET_KEY (or the reverse), and
# rotating one must not force rotating the other.
if not LEADLINE_ENCRYPTION_KEY or LEADLINE_ENCRYPTION_KEY == SECRET_KEY:
    raise ImproperlyConfigured(
        "LEADLINE_ENCRYPTION_KEY must be set in production, to a key other than "
        "LEADLINE_SECRET_KEY (it encrypts webhook secrets at rest)"
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

DEBUG = False
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True

# HSTS: browsers that saw us once use HTTPS only, for a year. Preloading commits the whole
# domain to HTTPS in browsers' built-in lists and is hard to undo, so it is the operator's call.
SECURE_HSTS_SECONDS = int(os.environ.get("LEADLINE_HSTS_SECONDS", 365 * 24 * 3600))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("LEADLINE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("LEADLINE_HSTS_PRELOAD")
# Redirect http to https, unless a proxy in front does (LEADLINE_SSL_REDIRECT=0). Behind a TLS
# proxy, LEADLINE_BEHIND_TLS_PROXY makes X-Forwarded-Proto tell the two apart. Load balancers
# probe the health checks over plain HTTP and would take a 301 for a failure.
SECURE_SSL_REDIRECT = env_bool("LEADLINE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# `check --deploy` flags preload off (W021) and no redirect (W008); both are then deliberate
# choices above, and a deploy check that always warns trains people to ignore it.
SILENCED_SYSTEM_CHECKS = []
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS.append("security.W021")
if not SECURE_SSL_REDIRECT:
    SILENCED_SYSTEM_CHECKS.append("security.W008")
