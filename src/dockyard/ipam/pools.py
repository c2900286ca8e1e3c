"""Docker's default address pools and the choice of a subnet for a network created without one.

Docker's local default pools are, in order: 172.17.0.0/16 … 172.19.0.0/16, then 172.20.0.0/14,
172.24.0.0/14 and 172.28.0.0/14 cut into /16s (172.20 … 172.31), then 192.168.0.0/16 cut into
/20s. A network created without a subnet takes the first candidate that overlaps neither an
existing network nor a route of the host, so a container network never hides a LAN or VPN.
Docker looks at the host's routes only at that moment; so do we (the caller passes them).

IPv6 (Docker 27.0 on): with no IPv6 pool configured, a network that enables IPv6 without a
subnet gets a /64 of a /48 unique local prefix that the engine derives from its own id, so
it is the same across restarts and differs from host to host (:func:`ula_base`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from ipaddress import IPv4Network, IPv6Network

from dockyard.ipam.errors import NoAvailablePool
from dockyard.ipam.parse import IPNetwork, is_default_route

DEFAULT_BRIDGE_SUBNET = IPv4Network("172.17.0.0/16")

# (base block, size of the subnets cut from it), in the order Docker tries them.
DEFAULT_POOLS: tuple[tuple[IPv4Network, int], ...] = (
    (IPv4Network("172.17.0.0/16"), 16),
    (IPv4Network("172.18.0.0/16"), 16),
    (IPv4Network("172.19.0.0/16"), 16),
    (IPv4Network("172.20.0.0/14"), 16),
    (IPv4Network("172.24.0.0/14"), 16),
    (IPv4Network("172.28.0.0/14"), 16),
    (IPv4Network("192.168.0.0/16"), 20),
)

NO_POOL_MESSAGE = (
    "could not find an available, non-overlapping IPv4 address pool "
    "among the defaults to assign to the network"
)
NO_POOL_MESSAGE_V6 = NO_POOL_MESSAGE.replace("IPv4", "IPv6")
ULA_BASE_PREFIX, ULA_SUBNET_PREFIX = 48, 64


# Cut once: every network create used to cut them anew and compare each with every taken
# subnet and route through ipaddress objects (~3 ms with 20 networks).
_CANDIDATES: tuple[IPv4Network, ...] = tuple(
    subnet for base, size in DEFAULT_POOLS for subnet in base.subnets(new_prefix=size))
_CANDIDATE_SPANS: tuple[tuple[int, int], ...] = tuple(
    (int(c.network_address), int(c.broadcast_address)) for c in _CANDIDATES)


def default_pool_subnets() -> Iterator[IPv4Network]:
    """Every candidate subnet, in the order they are tried (31 in all)."""
    return iter(_CANDIDATES)


def choose_subnet(existing: Iterable[IPNetwork], host_routes: Iterable[IPNetwork]) -> IPv4Network:
    """The first default subnet clear of every existing network and every non-default route.

    Raises NoAvailablePool (Unavailable) when every candidate is taken.
    """
    taken = [n for n in existing if n.version == 4]
    taken += [r for r in host_routes if r.version == 4 and not is_default_route(r)]
    spans = [(int(t.network_address), int(t.broadcast_address)) for t in taken]
    for candidate, (low, high) in zip(_CANDIDATES, _CANDIDATE_SPANS, strict=True):
        # Two address ranges overlap unless one ends before the other begins.
        if not any(start <= high and low <= end for start, end in spans):
            return candidate
    raise NoAvailablePool(NO_POOL_MESSAGE)


def ula_base(engine_id: str) -> IPv6Network:
    """Docker's default IPv6 pool: fd00::/8 followed by a 40-bit global ID, the low 40 bits
    of the first 8 bytes of the SHA-256 of the engine's id (RFC 4193 §3.2.2's recipe, with
    the id in place of the time and EUI-64 it hashes); a /48 cut into /64s."""
    digest = hashlib.sha256(engine_id.encode()).digest()
    global_id = int.from_bytes(digest[:8], "big") & ((1 << 40) - 1)
    return IPv6Network(((0xFD << 120) | (global_id << 80), ULA_BASE_PREFIX))


def choose_subnet_v6(base: IPv6Network, existing: Iterable[IPNetwork],
                     host_routes: Iterable[IPNetwork]) -> IPv6Network:
    """The first /64 of ``base`` clear of every existing network and non-default route.

    Raises NoAvailablePool (Unavailable) when all 65,536 are taken."""
    taken = [n for n in (*existing, *host_routes) if n.version == 6 and not is_default_route(n)]
    spans = [(int(t.network_address), int(t.broadcast_address)) for t in taken]
    first, step = int(base.network_address), 1 << (128 - ULA_SUBNET_PREFIX)
    for index in range(1 << (ULA_SUBNET_PREFIX - ULA_BASE_PREFIX)):
        low = first + index * step
        high = low + step - 1
        if not any(start <= high and low <= end for start, end in spans):
            return IPv6Network((low, ULA_SUBNET_PREFIX))
    raise NoAvailablePool(NO_POOL_MESSAGE_V6)
