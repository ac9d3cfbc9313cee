"""The client's IP address, as far as it can be believed.

`X-Forwarded-For` is written by whoever sends the request, so it is believed only when the
direct peer (the ASGI scope's `client`) is one of the operator's own proxies, listed as CIDRs
in `AIUSAGE_TRUSTED_PROXIES` (empty by default: the peer is always the client). Each proxy
appends the address it received the request from, so the header is read from the right: the
right-most address that is not itself a trusted proxy is the client. Anything to its left was
written by the client and is ignored. Should every address in the header be a trusted proxy,
the left-most is taken; should the walk meet text that is not an address before finding an
untrusted one, the last trusted hop it passed is taken (never text the client wrote).

Used for every limit and every stored IP hash of the dashboard's routes and Reflex states.
IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) are read as the IPv4 address."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from aiusage.config import get_settings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# A header longer than this many hops is read only from its right end: no real chain of
# proxies is that long, and the left part is the client's own writing anyway.
MAX_HOPS = 32


def parse_address(text: str) -> IPAddress | None:
    """An address from a peer or a header entry (`1.2.3.4`, `1.2.3.4:5678`, `[::1]:80`,
    `::1`), or None."""
    value = text.strip()
    if not value or len(value) > 64:
        return None
    if value.startswith("["):  # [v6]:port
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # v4:port
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def resolve(
    peer: str | None,
    forwarded_for: str | None,
    trusted: Iterable[IPNetwork] | None = None,
) -> str:
    """The client address for a request from `peer` carrying this X-Forwarded-For value
    (repeated headers joined with commas). "" when there is no peer."""
    networks = tuple(get_settings().trusted_proxies if trusted is None else trusted)
    peer_address = parse_address(peer or "")
    if peer_address is None:
        return (peer or "")[:64]
    if not networks or not forwarded_for or not _trusted(peer_address, networks):
        return str(peer_address)
    hop = peer_address
    for entry in reversed(forwarded_for.split(",")[-MAX_HOPS:]):
        address = parse_address(entry)
        if address is None:
            break
        hop = address
        if not _trusted(address, networks):
            break
    return str(hop)


def _forwarded_for(headers: Iterable[tuple[bytes, bytes]]) -> str:
    values = [value for name, value in headers if name.lower() == b"x-forwarded-for"]
    return b",".join(values).decode("latin-1")


def from_scope(scope: Mapping[str, Any]) -> str:
    """The client address of an ASGI HTTP request (for the proxy as much as the routes)."""
    client = scope.get("client")
    peer = client[0] if client else None
    return resolve(peer, _forwarded_for(scope.get("headers") or ()))


def from_router(router: Any) -> str:
    """The client address inside a Reflex event: the websocket's peer (Reflex puts the ASGI
    scope's client in the `asgi-scope-client` header entry) and its X-Forwarded-For."""
    raw = router.headers.raw_headers
    peer = raw.get("asgi-scope-client") or router.session.client_ip
    return resolve(peer, raw.get("x-forwarded-for", ""))


def limit_key(ip: str) -> str:
    """What a limit counts an address under: IPv4 as it is, IPv6 by its /64 (one host
    usually holds a whole /64, so single v6 addresses cost an attacker nothing)."""
    address = parse_address(ip)
    if address is None:
        return ip[:64]
    if address.version == 6:
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
