"""What production serves with, whatever its environment: DEBUG off, secure cookies, HSTS, the
HTTPS redirect. `production` adds the guards that refuse an unsafe environment; `bench` uses
this as it is, so the benchmarks pay what production pays per request.
"""

import os

from .base import *  # noqa: F403
from .base import env_bool

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
# probe the health checks over plain HTTP and would take a 301 for a failure; a Prometheus
# agent scrapes /metrics on the node itself (loopback) or on its internal address.
SECURE_SSL_REDIRECT = env_bool("LEADLINE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# `check --deploy` flags preload off (W021) and no redirect (W008); both are then deliberate
# choices above, and a deploy check that always warns trains people to ignore it.
SILENCED_SYSTEM_CHECKS = []
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS.append("security.W021")
if not SECURE_SSL_REDIRECT:
    SILENCED_SYSTEM_CHECKS.append("security.W008")
