"""Refuse webhook URLs that point into our own network (SSRF), unless explicitly allowed."""

import ipaddress
import socket
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver
from django.conf import settings

from leadline.core.errors import BadRequest


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return not ip.is_global


def url_check(url: str) -> str:
    """The URL if it is http(s) to a public host (or private ones are allowed), else 400."""
    try:
        parts = urlsplit(url)
        # Reading .port validates it: "h:99999" or "h:x" raise ValueError here, not later.
        port = parts.port
    except ValueError:
        raise BadRequest("The webhook URL is not a valid URL.") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise BadRequest("The webhook URL must be an absolute http or https URL.")
    if parts.username or parts.password:
        raise BadRequest("Put no credentials in the webhook URL; verify our signature instead.")
    if settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE:
        return url
    try:
        infos = socket.getaddrinfo(parts.hostname, port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise BadRequest("The webhook URL's host does not resolve.") from None
    if any(_private(str(info[4][0])) for info in infos):
        raise BadRequest("The webhook URL resolves to a private, loopback or link-local address.")
    return url


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that drops private addresses at connect time (DNS may have changed)."""

    def __init__(self, allow_private: bool):
        self._inner = aiohttp.ThreadedResolver()
        self._allow_private = allow_private

    async def resolve(self, host, port=0, family=socket.AF_INET):
        results = await self._inner.resolve(host, port, family)
        if self._allow_private:
            return results
        public = [r for r in results if not _private(r["host"])]
        if not public:
            raise OSError(f"{host} resolves only to private addresses")
        return public

    async def close(self):
        await self._inner.close()
