"""Parsing user-given subnets and addresses, with errors that name the field and the value.

Docker is strict where the stdlib is lenient: a subnet must be written in CIDR form (a bare
address is not a /32) and must not have host bits set (``172.20.1.5/16`` is refused with the
network it should have been). We keep both rules so that what Docker refuses, we refuse.
"""

from __future__ import annotations

import functools
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import TypeAlias

from dockyard.errors import InvalidParameter

IPNetwork: TypeAlias = IPv4Network | IPv6Network
IPAddress: TypeAlias = IPv4Address | IPv6Address


def family_name(version: int) -> str:
    return "IPv6" if version == 6 else "IPv4"


def parse_network(field: str, value: str) -> IPNetwork:
    """A CIDR block with no host bits set, e.g. ``172.20.0.0/16`` or ``fd00:1::/64``."""
    if "/" not in value or "%" in value:
        raise InvalidParameter(f'invalid {field} "{value}": invalid CIDR block notation')
    try:
        network = ip_network(value, strict=False)
    except ValueError as e:
        raise InvalidParameter(f'invalid {field} "{value}": invalid CIDR block notation') from e
    if network.network_address != ip_address(value.split("/", 1)[0]):
        raise InvalidParameter(f'invalid {field} "{value}": it should be {network}')
    return network


def parse_address(field: str, value: str) -> IPAddress:
    """A single address with no prefix length and no IPv6 zone."""
    try:
        address = ip_address(value)
    except ValueError as e:
        raise InvalidParameter(f'invalid {field} "{value}": not an IP address') from e
    if isinstance(address, IPv6Address) and address.scope_id is not None:
        raise InvalidParameter(f'invalid {field} "{value}": a zone index is not allowed here')
    return address


def overlaps(a: IPNetwork, b: IPNetwork) -> bool:
    """Whether two blocks share an address; blocks of different families never do."""
    if a.version != b.version:
        return False
    return a.overlaps(b)


def is_default_route(network: IPNetwork) -> bool:
    return network.prefixlen == 0


# Endpoint addresses are read again on every change: IPAM collects a network's addresses in
# use on each connect, and DNS hashes each address several times a rebuild (at 200 endpoints
# a seventh of what a DNS change cost, 5.1 → 4.4 ms). ipaddress parses slowly and computes
# every hash anew, in Python; these values are parsed once and keep their hash, and they
# equal, and hash as, the plain ipaddress values.
class _HashedOnce:
    __slots__ = ()
    _hash: int

    def __init__(self, address: str) -> None:
        super().__init__(address)  # type: ignore[call-arg]  # (the address class's)
        self._hash = super().__hash__()  # type: ignore[misc]  # (the slot is the subclass's)

    def __hash__(self) -> int:
        return self._hash


class _HashedIPv4Address(_HashedOnce, IPv4Address):
    __slots__ = ("_hash",)


class _HashedIPv6Address(_HashedOnce, IPv6Address):
    __slots__ = ("_hash",)


@functools.lru_cache(maxsize=16384)
def stored_address(text: str) -> IPAddress:
    """An address already stored (an endpoint's, known valid): parsed once, hashed once."""
    return _HashedIPv6Address(text) if ":" in text else _HashedIPv4Address(text)


@functools.lru_cache(maxsize=4096)
def stored_network(text: str) -> IPNetwork:
    """A subnet already stored (a network's pool, known valid), parsed once: every change
    derives the firewall and the pool choice from all networks again."""
    return ip_network(text)
