"""Handing out one address of a pool: the first free one, or a requested static one.

Docker's local IPAM gives the lowest free address (not the next after the last one given),
so on 172.17.0.0/16 containers get .2, .3, … and a released address is the next one handed
out again. Dynamic addresses come from the ip-range when there is one; a static address may
be anywhere in the subnet, inside the range or not.

The allocator keeps no state: the caller passes the addresses in use (from the store), so a
restart or a second engine process cannot disagree with it. The scan starts at the bottom of
the range and steps over blocked addresses only, so one call costs O(len(in_use)) however
large the subnet is.
"""

from __future__ import annotations

from collections.abc import Collection

from dockyard.errors import InvalidParameter
from dockyard.ipam.config import PoolConfig, unassignable
from dockyard.ipam.errors import AddressInUse, PoolExhausted
from dockyard.ipam.parse import IPAddress, family_name, parse_address

STATIC_NEEDS_USER_SUBNET = (
    "user specified IP address is supported only when connecting to networks "
    "with user configured subnets"
)


def allocate(
    pool: PoolConfig, in_use: Collection[IPAddress], requested: str | None = None
) -> IPAddress:
    """An address for a new endpoint on ``pool``.

    ``requested`` is a static address (``--ip``/``--ip6``/``ipv4_address``); without it the
    first free address of the pool is returned. Raises InvalidParameter for a bad request,
    AddressInUse (Conflict) for a taken static address, PoolExhausted (Unavailable) when
    nothing is free.
    """
    if requested is not None:
        return _check_static(pool, in_use, requested)
    return _first_free(pool, in_use)


def _first_free(pool: PoolConfig, in_use: Collection[IPAddress]) -> IPAddress:
    rng = pool.allocation_range
    start = int(rng.network_address)
    end = int(rng.broadcast_address)
    blocked = {int(a) for a in in_use if a.version == pool.version}
    blocked.add(int(pool.gateway))
    blocked.update(int(a) for a in pool.aux_addresses.values())
    blocked.update(int(a) for a in unassignable(pool.subnet))
    candidate = start
    # Each step past ``start`` skips one blocked address, so this loop runs at most
    # len(blocked) + 1 times.
    while candidate <= end:
        if candidate not in blocked:
            return rng.network_address + (candidate - start)
        candidate += 1
    where = f"ip-range {rng} of subnet {pool.subnet}" if pool.ip_range else f"subnet {pool.subnet}"
    raise PoolExhausted(f"no available {family_name(pool.version)} addresses on {where}")


def _check_static(pool: PoolConfig, in_use: Collection[IPAddress], requested: str) -> IPAddress:
    field = "IPv6 address" if pool.is_ipv6 else "IPv4 address"
    if not pool.user_subnet:
        raise InvalidParameter(f'invalid {field} "{requested}": {STATIC_NEEDS_USER_SUBNET}')
    address = parse_address(field, requested)
    if address.version != pool.version or address not in pool.subnet:
        raise InvalidParameter(
            f'invalid {field} "{requested}": no configured subnet contains it '
            f"(subnet is {pool.subnet})"
        )
    if address in unassignable(pool.subnet):
        what = "network" if address == pool.subnet.network_address else "broadcast"
        raise InvalidParameter(
            f'invalid {field} "{requested}": it is the {what} address of subnet {pool.subnet}'
        )
    if address == pool.gateway:
        raise AddressInUse(f"Address already in use: {address} is the gateway of {pool.subnet}")
    for name, aux in pool.aux_addresses.items():
        if address == aux:
            raise AddressInUse(
                f"Address already in use: {address} is reserved as auxiliary address {name}"
            )
    if address in in_use:
        raise AddressInUse(f"Address already in use: {address} on {pool.subnet}")
    return address
