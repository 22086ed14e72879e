"""The client's address: the TCP peer — or, only when that peer is a trusted reverse proxy, the
address the proxy reports.

1. **Nobody is believed by default.** With ``FUPIN_FORWARDED_ALLOW_IPS`` unset no header changes
   the client address: the TCP peer is the client, whatever ``Forwarded`` or ``X-Forwarded-For`` say.
2. **Trusted proxies are walked from the right.** When the peer is in the list (addresses or CIDRs),
   the client is the rightmost hop of ``Forwarded: for=`` (RFC 7239; else ``X-Forwarded-For``)
   that is not itself a trusted proxy — a hop a client wrote on the left can never win.
3. **No guessing.** A hop that is not an IP address (``unknown``, an obfuscated ``_node``, garbage)
   ends the walk: the client is the last proxy that was trusted, never a made-up address.
4. **One address for every reader.** The result replaces the ASGI scope's ``client``, so the
   objection rate limit, the idempotency scope of anonymous writes and the logs all see it.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(spec: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 127.0.0.1"`` → networks; a malformed entry fails at start-up."""
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(f"FUPIN_FORWARDED_ALLOW_IPS: {exc}") from None


def _address(node: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP from a ``for=`` node or an X-Forwarded-For entry: ``"[2001:db8::1]:4711"``,
    ``192.0.2.60:8080``, bare addresses; None for anything else."""
    node = node.strip().strip('"')
    if node.startswith("["):
        node = node[1:node.find("]")] if "]" in node else ""
    elif node.count(":") == 1:
        node = node.split(":")[0]
    try:
        return ipaddress.ip_address(node)
    except ValueError:
        return None


def forwarded_hops(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    """The hops the proxies reported, leftmost (the original client) first: ``Forwarded``'s
    ``for=`` parameters if that header is present, else ``X-Forwarded-For``'s entries."""
    forwarded, x_forwarded = [], []
    for name, value in headers:
        if name == b"forwarded":
            forwarded.append(value.decode("latin-1"))
        elif name == b"x-forwarded-for":
            x_forwarded.append(value.decode("latin-1"))
    if forwarded:
        hops = []
        for element in ",".join(forwarded).split(","):
            params = dict(pair.strip().split("=", 1) for pair in element.split(";") if "=" in pair)
            hops.append({k.lower(): v for k, v in params.items()}.get("for", "unknown"))
        return hops
    return [hop for hop in ",".join(x_forwarded).split(",") if hop.strip()]


def client_address(peer: str | None, hops: list[str], trusted: tuple[Network, ...]) -> str | None:
    """The client of a request from ``peer`` carrying ``hops`` (guarantees 1–3)."""
    current = _address(peer) if peer else None
    if current is None or not _is_trusted(current, trusted):
        return peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break
        current = address
        if not _is_trusted(address, trusted):
            break
    return str(current)


def _is_trusted(address, trusted: tuple[Network, ...]) -> bool:
    return any(address in network for network in trusted)


class ClientAddress:
    """Pure ASGI middleware: the scope's ``client`` per the guarantees above."""

    def __init__(self, app, *, trusted: tuple[Network, ...]):
        self.app, self.trusted = app, trusted

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and self.trusted and scope.get("client"):
            peer = scope["client"][0]
            client = client_address(peer, forwarded_hops(scope.get("headers", ())), self.trusted)
            if client != peer:
                scope = {**scope, "client": (client, 0)}
        await self.app(scope, receive, send)


__all__ = ["ClientAddress", "client_address", "forwarded_hops", "trusted_networks"]
