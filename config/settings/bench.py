"""Benchmarks: production's request path on plain HTTP to 127.0.0.1.

`python -m bench` runs the server, the worker and the CLI against receivers on loopback over
http, which production's guards refuse (private webhook targets, an http public URL). This
module is `secure` (everything production serves with) without those guards, and without the
HTTPS redirect, which would answer every benchmark request with a 301.
"""

from .secure import *  # noqa: F403

SECURE_SSL_REDIRECT = False
