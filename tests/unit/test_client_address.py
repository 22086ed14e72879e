"""Unit tests for shared.web.client: who the client is, given the peer, the proxy headers and the
trusted proxies."""

from __future__ import annotations

import pytest

from shared.web.client import client_address, forwarded_hops, trusted_networks

PROXIES = trusted_networks("10.0.0.0/8, 192.0.2.1, 2001:db8::/32")


def hops(**headers: str) -> list[str]:
    return forwarded_hops([(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()])


def test_nobody_is_trusted_by_default():
    assert trusted_networks("") == ()
    assert client_address("203.0.113.9", ["1.1.1.1"], ()) == "203.0.113.9"


def test_an_untrusted_peer_cannot_choose_its_address():
    assert client_address("203.0.113.9", hops(x_forwarded_for="1.1.1.1"), PROXIES) == "203.0.113.9"
    assert client_address("203.0.113.9", hops(forwarded="for=1.1.1.1"), PROXIES) == "203.0.113.9"


@pytest.mark.parametrize(("headers", "client"), [
    ({"x_forwarded_for": "198.51.100.7"}, "198.51.100.7"),
    ({"x_forwarded_for": "6.6.6.6, 198.51.100.7"}, "198.51.100.7"),  # the client forged the left entry
    ({"x_forwarded_for": "198.51.100.7, 10.1.1.1"}, "198.51.100.7"),  # two proxies of ours
    ({"forwarded": 'for=198.51.100.7;proto=https, for="[2001:db8::9]:4711"'}, "198.51.100.7"),
    ({"forwarded": 'for="198.51.100.7:8080"'}, "198.51.100.7"),
    ({"forwarded": 'For="[2001:db9::1]"'}, "2001:db9::1"),
    ({"forwarded": "for=198.51.100.7", "x_forwarded_for": "6.6.6.6"}, "198.51.100.7"),  # Forwarded wins
    ({"forwarded": "for=unknown"}, "10.0.0.2"),  # no guessing: the last trusted hop
    ({"x_forwarded_for": "garbage, 10.9.9.9"}, "10.9.9.9"),
    ({}, "10.0.0.2"),
])
def test_behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client(headers, client):
    assert client_address("10.0.0.2", hops(**headers), PROXIES) == client


def test_a_malformed_allow_list_fails_at_start_up():
    with pytest.raises(ValueError, match="FUPIN_FORWARDED_ALLOW_IPS"):
        trusted_networks("10.0.0.0/8, not-an-address")
