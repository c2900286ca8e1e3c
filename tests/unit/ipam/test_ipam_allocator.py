"""Address allocation: first free address, ip-range, aux addresses, static requests."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest

from dockyard.errors import Conflict, InvalidParameter, Unavailable
from dockyard.ipam import (
    AddressInUse,
    IPAddress,
    PoolConfig,
    PoolExhausted,
    allocate,
    default_bridge_pool,
    make_pool,
)

N = ip_network
A = ip_address


def user_pool(
    subnet: str,
    gateway: str | None = None,
    ip_range: str | None = None,
    aux: dict[str, str] | None = None,
) -> PoolConfig:
    return make_pool(subnet, gateway, ip_range, aux or {}, existing=[], host_routes=[])


def allocate_n(pool: PoolConfig, n: int, in_use: set[IPAddress] | None = None) -> list[str]:
    used: set[IPAddress] = set(in_use or ())
    out = []
    for _ in range(n):
        address = allocate(pool, used)
        used.add(address)
        out.append(str(address))
    return out


# --- dynamic allocation ------------------------------------------------------------------------


def test_default_bridge_hands_out_2_then_3() -> None:
    assert allocate_n(default_bridge_pool(), 3) == ["172.17.0.2", "172.17.0.3", "172.17.0.4"]


def test_released_address_is_the_next_one_handed_out() -> None:
    pool = default_bridge_pool()
    used = {A("172.17.0.2"), A("172.17.0.3"), A("172.17.0.4")}
    used.discard(A("172.17.0.3"))
    assert str(allocate(pool, used)) == "172.17.0.3"


def test_in_use_may_be_any_collection_and_other_families_are_ignored() -> None:
    pool = default_bridge_pool()
    assert str(allocate(pool, [A("172.17.0.2"), A("fd00::3")])) == "172.17.0.3"
    assert str(allocate(pool, frozenset())) == "172.17.0.2"


def test_user_gateway_elsewhere_leaves_dot_1_free() -> None:
    pool = user_pool("10.5.0.0/24", gateway="10.5.0.254")
    assert allocate_n(pool, 2) == ["10.5.0.1", "10.5.0.2"]


def test_aux_addresses_are_skipped() -> None:
    pool = user_pool("10.5.0.0/24", aux={"router": "10.5.0.2", "printer": "10.5.0.4"})
    assert allocate_n(pool, 3) == ["10.5.0.3", "10.5.0.5", "10.5.0.6"]


def test_ip_range_hands_out_its_first_address_like_docker() -> None:
    # Docker's default IPAM reserves only the subnet's network and broadcast addresses, so
    # the .0 of a /24 range inside a /16 is a normal host address and comes first.
    pool = user_pool("172.20.0.0/16", ip_range="172.20.1.0/24")
    assert allocate_n(pool, 2) == ["172.20.1.0", "172.20.1.1"]


def test_ip_range_at_start_of_subnet_skips_network_and_gateway() -> None:
    pool = user_pool("172.20.0.0/16", ip_range="172.20.0.0/24")
    assert allocate_n(pool, 1) == ["172.20.0.2"]


def test_ip_range_skips_a_gateway_inside_it() -> None:
    pool = user_pool("172.28.0.0/16", gateway="172.28.5.0", ip_range="172.28.5.0/24")
    assert allocate_n(pool, 2) == ["172.28.5.1", "172.28.5.2"]


def test_ip_range_at_end_of_subnet_never_gives_broadcast() -> None:
    pool = user_pool("10.7.0.0/24", ip_range="10.7.0.252/30")
    assert allocate_n(pool, 3) == ["10.7.0.252", "10.7.0.253", "10.7.0.254"]
    with pytest.raises(PoolExhausted) as info:
        allocate_n(pool, 4)
    message = str(info.value)
    assert "10.7.0.252/30" in message and "10.7.0.0/24" in message


def test_exhausted_subnet_is_unavailable_and_names_it() -> None:
    pool = user_pool("10.6.0.0/29")  # .1 gateway, .2-.6 hosts, .7 broadcast
    assert allocate_n(pool, 5) == [f"10.6.0.{i}" for i in range(2, 7)]
    used = {A(f"10.6.0.{i}") for i in range(2, 7)}
    with pytest.raises(Unavailable) as info:
        allocate(pool, used)
    assert "10.6.0.0/29" in str(info.value)


def test_slash_31_gives_its_second_address() -> None:
    pool = user_pool("10.9.0.0/31")
    assert allocate_n(pool, 1) == ["10.9.0.1"]


def test_ipv6_gateway_1_first_address_2() -> None:
    pool = user_pool("2001:db8:1::/64")
    assert str(pool.gateway) == "2001:db8:1::1"
    assert allocate_n(pool, 2) == ["2001:db8:1::2", "2001:db8:1::3"]


def test_ipv6_ip_range_starts_at_its_first_address() -> None:
    pool = user_pool("fd00:1::/64", ip_range="fd00:1::100/120")
    assert allocate_n(pool, 1) == ["fd00:1::100"]


def test_ipv6_has_no_broadcast() -> None:
    pool = user_pool("fd00:2::/126")  # ::0 anycast, ::1 gateway, ::2 and ::3 usable
    assert allocate_n(pool, 2) == ["fd00:2::2", "fd00:2::3"]


def test_large_in_use_set_finds_the_gap() -> None:
    pool = user_pool("10.0.0.0/16")
    used = {pool.subnet.network_address + i for i in range(2, 1002)}
    used.discard(A("10.0.2.0"))  # 10.0.2.0 is host number 512
    assert str(allocate(pool, used)) == "10.0.2.0"


# --- static requests ---------------------------------------------------------------------------


def test_static_address_inside_subnet_is_granted() -> None:
    pool = user_pool("132.124.0.0/16")
    assert str(allocate(pool, set(), "132.124.0.23")) == "132.124.0.23"


def test_static_ipv6_address() -> None:
    pool = user_pool("2001:389::/64")
    assert str(allocate(pool, set(), "2001:389::f00d")) == "2001:389::f00d"


def test_static_address_outside_ip_range_but_inside_subnet_is_allowed() -> None:
    pool = user_pool("172.20.0.0/16", ip_range="172.20.1.0/24")
    assert str(allocate(pool, set(), "172.20.9.9")) == "172.20.9.9"


def test_static_address_needs_a_user_configured_subnet() -> None:
    chosen = make_pool(None, None, None, {}, existing=[], host_routes=[])
    for pool in (default_bridge_pool(), chosen):
        with pytest.raises(InvalidParameter) as info:
            allocate(pool, set(), "172.17.0.9")
        assert "user configured subnets" in str(info.value)


def test_static_address_outside_subnet() -> None:
    pool = user_pool("10.5.0.0/24")
    with pytest.raises(InvalidParameter) as info:
        allocate(pool, set(), "10.6.0.5")
    assert '"10.6.0.5"' in str(info.value) and "10.5.0.0/24" in str(info.value)


def test_static_address_of_other_family() -> None:
    with pytest.raises(InvalidParameter):
        allocate(user_pool("10.5.0.0/24"), set(), "fd00::5")


def test_static_address_malformed() -> None:
    with pytest.raises(InvalidParameter) as info:
        allocate(user_pool("10.5.0.0/24"), set(), "10.5.0.300")
    assert '"10.5.0.300"' in str(info.value)


@pytest.mark.parametrize("address", ["10.5.0.0", "10.5.0.255"])
def test_static_network_or_broadcast_address_is_invalid(address: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        allocate(user_pool("10.5.0.0/24"), set(), address)
    assert f'"{address}"' in str(info.value)


def test_static_gateway_is_in_use() -> None:
    with pytest.raises(AddressInUse) as info:
        allocate(user_pool("10.5.0.0/24"), set(), "10.5.0.1")
    assert "10.5.0.1" in str(info.value) and "gateway" in str(info.value)


def test_static_aux_address_is_in_use() -> None:
    pool = user_pool("10.5.0.0/24", aux={"router": "10.5.0.9"})
    with pytest.raises(AddressInUse) as info:
        allocate(pool, set(), "10.5.0.9")
    assert "router" in str(info.value)


def test_static_address_held_by_an_endpoint_conflicts() -> None:
    pool = user_pool("10.5.0.0/24")
    with pytest.raises(Conflict) as info:
        allocate(pool, {A("10.5.0.7")}, "10.5.0.7")
    assert str(info.value) == "Address already in use: 10.5.0.7 on 10.5.0.0/24"
