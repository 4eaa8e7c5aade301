"""The SSRF guard's address rules, IPv4 carried inside IPv6 included."""

import ipaddress

import pytest

from leadline.core.errors import BadRequest
from leadline.webhooks import services
from leadline.webhooks.ssrf_guard import address_refused, embedded_ipv4, literal_refusal

# Each form of IPv6 that carries (and delivers to) an IPv4 address, as a function of it.
FORMS = {
    "mapped": lambda v4: f"::ffff:{v4}",
    "compatible": lambda v4: f"::{v4}",
    "nat64": lambda v4: f"64:ff9b::{v4}",
    "6to4": lambda v4: str(
        ipaddress.IPv6Address((0x2002 << 112) | (int(ipaddress.IPv4Address(v4)) << 80) | 1)
    ),
    "translated": lambda v4: f"::ffff:0:{v4}",
}
REFUSED_V4 = [
    "10.0.0.1",  # private
    "172.16.5.4",
    "192.168.1.1",
    "127.0.0.1",  # loopback
    "169.254.169.254",  # link-local (cloud metadata)
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "0.0.0.0",  # unspecified
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.2.1",  # documentation
    "198.18.0.1",  # benchmarking
]


@pytest.mark.parametrize("form", FORMS)
def test_the_decoder_finds_the_ipv4_address_in_each_form(form):
    v6 = ipaddress.IPv6Address(FORMS[form]("10.1.2.3"))
    assert embedded_ipv4(v6) == ipaddress.IPv4Address("10.1.2.3")


@pytest.mark.parametrize("address", ["2001:db8::1", "2606:4700:4700::1111", "fe80::1", "ff02::1"])
def test_the_decoder_leaves_other_ipv6_addresses_alone(address):
    assert embedded_ipv4(ipaddress.IPv6Address(address)) is None


@pytest.mark.parametrize("form", [None, *FORMS])
@pytest.mark.parametrize("v4", REFUSED_V4)
def test_ipv4_rules_apply_to_ipv4_in_every_form(v4, form):
    assert address_refused(v4 if form is None else FORMS[form](v4))


@pytest.mark.parametrize("form", [None, *FORMS])
def test_a_public_ipv4_is_allowed_in_every_form(form):
    assert not address_refused("8.8.8.8" if form is None else FORMS[form]("8.8.8.8"))


@pytest.mark.parametrize(
    "address", ["::1", "::", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12::1", "fec0::1", "ff02::1"]
)
def test_ipv6_loopback_link_local_unique_local_site_local_and_multicast_are_refused(address):
    assert address_refused(address)


def test_a_public_ipv6_address_is_allowed():
    assert not address_refused("2606:4700:4700::1111")


@pytest.mark.parametrize(
    "url",
    [
        "http://[::ffff:127.0.0.1]/x",
        "http://[::ffff:10.0.0.1]/x",
        "http://[::10.0.0.1]/x",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",  # 169.254.169.254 through NAT64
        "http://[2002:c0a8:101::1]/x",  # 192.168.1.1 through 6to4
        "http://[::ffff:0:a00:1]/x",
        "http://100.64.0.1/x",
        "http://224.0.0.1/x",
        "http://0.0.0.0/x",
    ],
)
def test_saving_an_endpoint_refuses_each_form(campaign, settings, url):
    settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(BadRequest):
        services.endpoint_create(business=campaign.business, url=url, campaign=campaign)


def test_saving_an_endpoint_at_a_public_ipv4_through_nat64_is_allowed(campaign, settings):
    settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE = False
    url = "http://[64:ff9b::808:808]/hook"
    assert services.endpoint_create(business=campaign.business, url=url, campaign=campaign)


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://10.0.0.1/x", True),
        ("http://[::ffff:10.0.0.1]:8080/x", True),
        ("https://[fe80::1%25eth0]/x", True),
        ("http://8.8.8.8/x", False),
        ("http://[64:ff9b::808:808]/x", False),
        ("https://example.com/x", False),  # a name: the resolver's to check
    ],
)
def test_literal_refusal_checks_bare_ips_only(url, refused):
    reason = literal_refusal(url, False)
    assert (reason is not None) == refused
    assert literal_refusal(url, True) is None
