"""Refuse webhook URLs that point into our own network (SSRF), unless explicitly allowed.

Checked three times: when an endpoint is saved (`url_check`), when the sender resolves a host
name (`GuardedResolver`: DNS may have changed since), and before each post to a bare IP
(`literal_refusal`: aiohttp never asks a resolver about an IP literal, and the stored URL may
have been changed behind the form's back).
"""

import ipaddress
import socket
from functools import lru_cache
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver
from django.conf import settings
from yarl import URL

from leadline.core.errors import BadRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LOW32 = 0xFFFFFFFF
# Prefixes whose last 32 bits are an IPv4 address (the address's top 96 bits, as an int):
_NAT64 = int(ipaddress.IPv6Address("64:ff9b::")) >> 32  # NAT64 well-known prefix, RFC 6052
_TRANSLATED = int(ipaddress.IPv6Address("::ffff:0:0:0")) >> 32  # SIIT, RFC 2765
REFUSED = "a private, loopback, link-local, shared, reserved or multicast address"


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (and delivers to), if it is of such a form.

    IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`,
    SIIT `::ffff:0:a.b.c.d` and 6to4 `2002:AABB:CCDD::/48`: each reaches a.b.c.d, so it must
    pass the IPv4 rules (`::ffff:127.0.0.1` is loopback, whatever IPv6 says about it).
    """
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    top = int(ip) >> 32
    if top in (0, _NAT64, _TRANSLATED):
        return ipaddress.IPv4Address(int(ip) & _LOW32)
    return None


def _refused_ip(ip: IPAddress) -> bool:
    # is_global alone misses multicast (224/4 is "global" to Python), hence the rest.
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
    )


def address_refused(address: str) -> bool:
    """Whether a webhook may not connect to this IP address (IPv6 zone ids are ignored)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            return _refused_ip(inner)
    return _refused_ip(ip)


@lru_cache(maxsize=1024)
def literal_refusal(url: str, allow_private: bool) -> str | None:
    """Why the sender must not post to `url` when its host is a bare IP; None otherwise.

    Host names are left to GuardedResolver. Cached: the sender asks before every post, and an
    endpoint's URL rarely changes.
    """
    if allow_private:
        return None
    host = URL(url).raw_host or ""
    # What aiohttp takes for an IP literal (and so never resolves): all digits and dots, or a
    # colon. One of those that we cannot read is refused rather than let through.
    if not (":" in host or host.replace(".", "").isdigit()):
        return None
    try:
        refused = address_refused(host)
    except ValueError:
        return f"refused: {host} is not an IP address we can check"
    return f"refused: {host} is {REFUSED}" if refused else None


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
    if any(address_refused(str(info[4][0])) for info in infos):
        raise BadRequest(f"The webhook URL resolves to {REFUSED}.")
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
        public = [r for r in results if not address_refused(r["host"])]
        if not public:
            raise OSError(f"{host} resolves only to {REFUSED}")
        return public

    async def close(self):
        await self._inner.close()
