"""Default pools and the choice of a subnet for a network created without one."""

from __future__ import annotations

from ipaddress import IPv4Network, ip_network

import pytest

from dockyard.errors import Unavailable
from dockyard.ipam import (
    DEFAULT_BRIDGE_SUBNET,
    NoAvailablePool,
    choose_subnet,
    default_bridge_pool,
    default_pool_subnets,
)
from dockyard.ipam.pools import choose_subnet_v6, ula_base

N = ip_network


def test_default_pools_are_dockers_in_order() -> None:
    pools = [str(p) for p in default_pool_subnets()]
    expected_172 = [f"172.{i}.0.0/16" for i in range(17, 32)]
    expected_192 = [f"192.168.{i}.0/20" for i in range(0, 256, 16)]
    assert pools == expected_172 + expected_192


def test_default_bridge_is_172_17_via_172_17_0_1() -> None:
    pool = default_bridge_pool()
    assert pool.subnet == DEFAULT_BRIDGE_SUBNET == N("172.17.0.0/16")
    assert str(pool.gateway) == "172.17.0.1"
    assert pool.user_subnet is False


def test_first_user_network_gets_172_18_when_bridge_exists() -> None:
    assert choose_subnet([N("172.17.0.0/16")], []) == N("172.18.0.0/16")


def test_nothing_in_use_gives_172_17() -> None:
    assert choose_subnet([], []) == N("172.17.0.0/16")


def test_successive_networks_take_successive_pools() -> None:
    existing: list[IPv4Network] = []
    for _ in range(4):
        existing.append(choose_subnet(existing, []))
    assert [str(n) for n in existing] == [
        "172.17.0.0/16",
        "172.18.0.0/16",
        "172.19.0.0/16",
        "172.20.0.0/16",
    ]


def test_released_pool_is_reused_first() -> None:
    existing = [N("172.17.0.0/16"), N("172.19.0.0/16")]
    assert choose_subnet(existing, []) == N("172.18.0.0/16")


def test_host_route_pushes_past_its_pool() -> None:
    chosen = choose_subnet([N("172.17.0.0/16")], [N("172.18.0.0/16")])
    assert chosen == N("172.19.0.0/16")


def test_partial_overlap_with_a_network_skips_the_pool() -> None:
    # A user network 172.18.5.0/24 makes all of 172.18.0.0/16 unusable.
    chosen = choose_subnet([N("172.17.0.0/16"), N("172.18.5.0/24")], [])
    assert chosen == N("172.19.0.0/16")


def test_wide_host_route_skips_every_pool_it_covers() -> None:
    # A VPN route for 172.16.0.0/12 hides every 172.x default pool.
    assert choose_subnet([], [N("172.16.0.0/12")]) == N("192.168.0.0/20")


def test_default_routes_are_ignored() -> None:
    routes = [N("0.0.0.0/0"), N("::/0")]
    assert choose_subnet([N("172.17.0.0/16")], routes) == N("172.18.0.0/16")


def test_ipv6_networks_and_routes_do_not_block_ipv4_pools() -> None:
    chosen = choose_subnet([N("172.17.0.0/16"), N("fd00::/8")], [N("fd00:1::/64")])
    assert chosen == N("172.18.0.0/16")


def test_after_172_31_comes_192_168_0_0_20_then_192_168_16_0_20() -> None:
    existing = [N(f"172.{i}.0.0/16") for i in range(17, 32)]
    first = choose_subnet(existing, [])
    assert first == N("192.168.0.0/20")
    assert choose_subnet([*existing, first], []) == N("192.168.16.0/20")


def test_host_route_inside_192_168_skips_only_that_slice() -> None:
    existing = [N(f"172.{i}.0.0/16") for i in range(17, 32)]
    routes = [N("192.168.1.0/24")]  # a typical home LAN
    assert choose_subnet(existing, routes) == N("192.168.16.0/20")


def test_exhausted_defaults_are_unavailable_with_dockers_message() -> None:
    existing = list(default_pool_subnets())
    with pytest.raises(NoAvailablePool) as info:
        choose_subnet(existing, [])
    assert isinstance(info.value, Unavailable)
    assert str(info.value) == (
        "could not find an available, non-overlapping IPv4 address pool "
        "among the defaults to assign to the network"
    )


def test_exhausted_by_routes_alone() -> None:
    routes = [N("172.16.0.0/12"), N("192.168.0.0/16")]
    with pytest.raises(Unavailable):
        choose_subnet([], routes)


# ---------------------------------------------------------------- IPv6 (Docker 27.0 on)


@pytest.mark.parametrize(("engine_id", "prefix"), [
    # moby's own vectors for its default ULA prefix (daemon/libnetwork ipamutils tests)
    ("", "fd42:98fc:1c14::/48"),
    ("499d4bc0-b0b3-416f-b1ee-cf6486315593", "fd62:fb69:18af::/48"),
])
def test_the_ipv6_default_pool_is_the_ula_prefix_docker_derives(
        engine_id: str, prefix: str) -> None:
    assert ula_base(engine_id) == N(prefix)


def test_ipv6_subnets_are_the_first_free_64s_of_the_prefix() -> None:
    base = ula_base("")
    assert choose_subnet_v6(base, [], []) == N("fd42:98fc:1c14::/64")
    taken = [N("fd42:98fc:1c14::/64"), N("172.17.0.0/16"), N("fd42:98fc:1c14:2::/64")]
    assert choose_subnet_v6(base, taken, []) == N("fd42:98fc:1c14:1::/64")
    # A host route inside the prefix is skipped as a network is; a default route is not.
    routes = [N("fd42:98fc:1c14:1::/64"), N("::/0")]
    assert choose_subnet_v6(base, taken, routes) == N("fd42:98fc:1c14:3::/64")


def test_ipv6_prefix_taken_whole_is_unavailable_with_dockers_message() -> None:
    base = ula_base("")
    with pytest.raises(NoAvailablePool) as caught:
        choose_subnet_v6(base, [N("fd42:98fc::/32")], [])
    assert str(caught.value) == ("could not find an available, non-overlapping IPv6 address "
                                 "pool among the defaults to assign to the network")
