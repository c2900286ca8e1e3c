"""Docker's default address pools and the choice of a subnet for a network created without one.

Docker's local default pools are, in order: 172.17.0.0/16 … 172.19.0.0/16, then 172.20.0.0/14,
172.24.0.0/14 and 172.28.0.0/14 cut into /16s (172.20 … 172.31), then 192.168.0.0/16 cut into
/20s. A network created without a subnet takes the first candidate that overlaps neither an
existing network nor a route of the host, so a container network never hides a LAN or VPN.
Docker looks at the host's routes only at that moment; so do we (the caller passes them).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from ipaddress import IPv4Network

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
