"""One network's address pool (subnet, gateway, ip-range, aux addresses), validated once.

``make_pool`` turns what a user wrote (``--subnet --gateway --ip-range --aux-address``, or
compose's ``ipam.config``) into a ``PoolConfig`` or refuses it the way Docker does:
malformed or misplaced values are InvalidParameter naming the field and value; a subnet
overlapping another network's is PoolOverlap (Forbidden). Checks that only look at the input
run before the overlap check, so a request that is wrong in itself is told so first.

Which addresses are never assignable follows Docker's default IPAM: in IPv4 the network and
broadcast addresses (except in a /31 or /32, RFC 3021), in IPv6 the subnet-router anycast
address (the all-zeros one). Nothing else is special: the first address of an ip-range that is
not the subnet's own network address is a normal host address and is handed out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Network, ip_address, ip_network
from types import MappingProxyType
from typing import Any

from dockyard.errors import Internal, InvalidParameter
from dockyard.ipam.errors import PoolOverlap
from dockyard.ipam.parse import (
    IPAddress,
    IPNetwork,
    family_name,
    overlaps,
    parse_address,
    parse_network,
)
from dockyard.ipam.pools import DEFAULT_BRIDGE_SUBNET, choose_subnet

# Docker's wording for an overlapping pool; kept so users can search for it.
POOL_OVERLAP_MESSAGE = "Pool overlaps with other one on this address space"


def unassignable(subnet: IPNetwork) -> tuple[IPAddress, ...]:
    """Addresses of ``subnet`` that no gateway, aux entry or endpoint may ever take."""
    if subnet.version == 4:
        if subnet.num_addresses <= 2:
            return ()
        return (subnet.network_address, subnet.broadcast_address)
    return (subnet.network_address,)


def default_gateway(subnet: IPNetwork) -> IPAddress:
    """The first assignable address: .1 / ::1, or the first of a /31."""
    reserved = unassignable(subnet)
    return subnet.network_address + (1 if reserved else 0)


@dataclass(frozen=True)
class PoolConfig:
    """A validated pool. ``user_subnet`` is False when the subnet came from the defaults,
    which is what decides whether static addresses may be requested (as in Docker)."""

    subnet: IPNetwork
    gateway: IPAddress
    ip_range: IPNetwork | None = None
    aux_addresses: Mapping[str, IPAddress] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    user_subnet: bool = False

    def __post_init__(self) -> None:
        # A private read-only copy, so the frozen value cannot change behind our back.
        object.__setattr__(self, "aux_addresses", MappingProxyType(dict(self.aux_addresses)))

    @property
    def version(self) -> int:
        return self.subnet.version

    @property
    def is_ipv6(self) -> bool:
        return self.subnet.version == 6

    @property
    def allocation_range(self) -> IPNetwork:
        """Where dynamic addresses come from: the ip-range if any, else the whole subnet."""
        return self.ip_range if self.ip_range is not None else self.subnet

    def to_doc(self) -> dict[str, Any]:
        """JSON-safe form; the same keys as ``dockyard.model.network.Pool``."""
        return {
            "subnet": str(self.subnet),
            "gateway": str(self.gateway),
            "ip_range": str(self.ip_range) if self.ip_range is not None else None,
            "aux_addresses": {name: str(a) for name, a in self.aux_addresses.items()},
            "user_subnet": self.user_subnet,
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> PoolConfig:
        """Rebuild a stored pool. It was validated when made, so a bad value here means the
        store is corrupt: that is Internal, not the user's fault."""
        try:
            ip_range = doc.get("ip_range")
            return cls(
                subnet=ip_network(doc["subnet"]),
                gateway=ip_address(doc["gateway"]),
                ip_range=ip_network(ip_range) if ip_range else None,
                aux_addresses={
                    str(k): ip_address(v) for k, v in (doc.get("aux_addresses") or {}).items()
                },
                user_subnet=bool(doc.get("user_subnet")),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise Internal(f"stored IPAM pool {doc!r} is corrupt: {e}") from e


def default_bridge_pool() -> PoolConfig:
    """The pool of Docker's default ``bridge`` network: always 172.17.0.0/16 via 172.17.0.1.

    It counts as not user-configured, so static addresses are refused on it."""
    return PoolConfig(subnet=DEFAULT_BRIDGE_SUBNET, gateway=default_gateway(DEFAULT_BRIDGE_SUBNET))


def make_pool(
    subnet: str | None,
    gateway: str | None,
    ip_range: str | None,
    aux_addresses: Mapping[str, str],
    *,
    existing: Iterable[IPNetwork],
    host_routes: Iterable[IPNetwork],
) -> PoolConfig:
    """Validate a pool request; with no subnet, pick one from the IPv4 default pools.

    ``existing`` are the subnets of the other networks; ``host_routes`` the destinations of
    the host's routes (only consulted when choosing a subnet, like Docker).
    """
    existing = list(existing)
    if subnet is None:
        _refuse_without_subnet(gateway, ip_range, aux_addresses)
        chosen: IPv4Network = choose_subnet(existing, host_routes)
        return PoolConfig(subnet=chosen, gateway=default_gateway(chosen))

    net = _check_subnet(subnet)
    rng = _check_ip_range(ip_range, net) if ip_range is not None else None
    gw = _check_gateway(gateway, net) if gateway is not None else default_gateway(net)
    aux = _check_aux(aux_addresses, net, gw)
    for other in existing:
        if overlaps(net, other):
            raise PoolOverlap(
                f'invalid subnet "{subnet}": overlaps {other} of another network: '
                f"{POOL_OVERLAP_MESSAGE}"
            )
    return PoolConfig(subnet=net, gateway=gw, ip_range=rng, aux_addresses=aux, user_subnet=True)


def _refuse_without_subnet(
    gateway: str | None, ip_range: str | None, aux_addresses: Mapping[str, str]
) -> None:
    # Docker's CLI says "every ip-range or gateway must have a corresponding subnet": they
    # are only meaningful relative to a subnet the user chose.
    if gateway is not None:
        raise InvalidParameter(f'invalid gateway "{gateway}": a gateway needs a subnet')
    if ip_range is not None:
        raise InvalidParameter(f'invalid ip-range "{ip_range}": an ip-range needs a subnet')
    for name, value in aux_addresses.items():
        raise InvalidParameter(
            f'invalid auxiliary address {name} "{value}": auxiliary addresses need a subnet'
        )


def _check_subnet(value: str) -> IPNetwork:
    net = parse_network("subnet", value)
    if net.network_address.is_unspecified:
        raise InvalidParameter(
            f'invalid subnet "{value}": the unspecified address cannot start a subnet'
        )
    assignable = net.num_addresses - len(unassignable(net))
    if assignable < 2:
        raise InvalidParameter(
            f'invalid subnet "{value}": too small to hold a gateway and one address'
        )
    return net


def _check_ip_range(value: str, subnet: IPNetwork) -> IPNetwork:
    rng = parse_network("ip-range", value)
    if rng.version != subnet.version:
        raise InvalidParameter(
            f'invalid ip-range "{value}": parent subnet {subnet} is an '
            f"{family_name(subnet.version)} block"
        )
    if not rng.subnet_of(subnet):  # type: ignore[arg-type]
        raise InvalidParameter(f'invalid ip-range "{value}": not inside subnet {subnet}')
    return rng


def _check_member(field_name: str, value: str, subnet: IPNetwork) -> IPAddress:
    """An address that must lie inside ``subnet`` and be assignable there."""
    address = parse_address(field_name, value)
    if address.version != subnet.version:
        raise InvalidParameter(
            f'invalid {field_name} "{value}": parent subnet {subnet} is an '
            f"{family_name(subnet.version)} block"
        )
    if address not in subnet:
        raise InvalidParameter(
            f'invalid {field_name} "{value}": parent subnet {subnet} does not contain it'
        )
    if address in unassignable(subnet):
        what = "network" if address == subnet.network_address else "broadcast"
        raise InvalidParameter(
            f'invalid {field_name} "{value}": it is the {what} address of subnet {subnet}'
        )
    return address


def _check_gateway(value: str, subnet: IPNetwork) -> IPAddress:
    return _check_member("gateway", value, subnet)


def _check_aux(
    aux_addresses: Mapping[str, str], subnet: IPNetwork, gateway: IPAddress
) -> dict[str, IPAddress]:
    result: dict[str, IPAddress] = {}
    holders: dict[IPAddress, str] = {}
    for name, value in aux_addresses.items():
        field_name = f"auxiliary address {name}"
        address = _check_member(field_name, value, subnet)
        if address == gateway:
            raise InvalidParameter(f'invalid {field_name} "{value}": it is the gateway')
        if address in holders:
            other = holders[address]
            raise InvalidParameter(
                f'invalid {field_name} "{value}": also auxiliary address {other}'
            )
        holders[address] = name
        result[name] = address
    return result
