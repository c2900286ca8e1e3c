"""Validation of a pool request (subnet, gateway, ip-range, aux addresses) and its stored form."""

from __future__ import annotations

import json
from collections.abc import Mapping
from ipaddress import ip_address, ip_network

import pytest

from dockyard.errors import DockyardError, Forbidden, Internal, InvalidParameter
from dockyard.ipam import PoolConfig, PoolOverlap, make_pool, overlaps
from dockyard.ipam.parse import IPNetwork

N = ip_network
A = ip_address


def pool(
    subnet: str | None,
    gateway: str | None = None,
    ip_range: str | None = None,
    aux: Mapping[str, str] | None = None,
    existing: list[IPNetwork] | None = None,
    routes: list[IPNetwork] | None = None,
) -> PoolConfig:
    return make_pool(
        subnet, gateway, ip_range, aux or {}, existing=existing or [], host_routes=routes or []
    )


def refused(kind: type[DockyardError], *args: object, **kwargs: object) -> str:
    """Call ``pool`` expecting ``kind``; return the message for checks on its wording."""
    with pytest.raises(kind) as info:
        pool(*args, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


# --- accepted requests -------------------------------------------------------------------


def test_user_subnet_gets_first_host_as_gateway() -> None:
    p = pool("172.28.0.0/16")
    assert (p.subnet, p.gateway, p.ip_range, dict(p.aux_addresses)) == (
        N("172.28.0.0/16"),
        A("172.28.0.1"),
        None,
        {},
    )
    assert p.user_subnet is True


def test_full_config_is_kept() -> None:
    aux = {"a": "172.28.1.5", "b": "172.28.1.6"}
    p = pool("172.28.0.0/16", "172.28.5.254", "172.28.5.0/24", aux)
    assert p.gateway == A("172.28.5.254")
    assert p.ip_range == N("172.28.5.0/24")
    assert dict(p.aux_addresses) == {"a": A("172.28.1.5"), "b": A("172.28.1.6")}


def test_no_subnet_chooses_from_defaults_and_is_not_user_configured() -> None:
    p = pool(None, existing=[N("172.17.0.0/16")], routes=[N("172.18.0.0/16")])
    assert (p.subnet, p.gateway, p.user_subnet) == (N("172.19.0.0/16"), A("172.19.0.1"), False)


def test_ipv6_subnet_gets_gateway_1() -> None:
    p = pool("2001:db8:1::/64")
    assert p.gateway == A("2001:db8:1::1")
    assert p.is_ipv6


def test_ipv4_slash_31_is_usable_without_network_or_broadcast() -> None:
    # RFC 3021 point-to-point: both addresses are hosts (Docker reserves neither).
    p = pool("10.9.0.0/31")
    assert p.gateway == A("10.9.0.0")


def test_subnets_of_other_families_do_not_overlap() -> None:
    p = pool("fd00::/64", existing=[N("172.17.0.0/16")])
    assert p.subnet == N("fd00::/64")


def test_aux_addresses_are_a_read_only_copy() -> None:
    aux = {"router": "10.1.0.5"}
    p = pool("10.1.0.0/24", aux=aux)
    aux["other"] = "10.1.0.6"
    assert dict(p.aux_addresses) == {"router": A("10.1.0.5")}
    with pytest.raises(TypeError):
        p.aux_addresses["x"] = A("10.1.0.7")  # type: ignore[index]


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["10.0.0.0/33", "banana", "10.0.0.0", "fd00::/129", ""])
def test_malformed_subnet(value: str) -> None:
    message = refused(InvalidParameter, value)
    assert f'invalid subnet "{value}"' in message


def test_subnet_with_host_bits_is_refused_with_the_right_network() -> None:
    message = refused(InvalidParameter, "172.20.1.5/16")
    assert message == 'invalid subnet "172.20.1.5/16": it should be 172.20.0.0/16'


@pytest.mark.parametrize("value", ["10.0.0.0/32", "10.0.0.5/32", "fd00::/128", "fd00::/127"])
def test_subnet_too_small_for_gateway_and_one_address(value: str) -> None:
    assert "too small" in refused(InvalidParameter, value)


def test_unspecified_subnet_is_refused() -> None:
    assert 'invalid subnet "0.0.0.0/0"' in refused(InvalidParameter, "0.0.0.0/0")


def test_subnet_overlapping_another_network_is_forbidden() -> None:
    message = refused(PoolOverlap, "172.18.0.0/24", existing=[N("172.18.0.0/16")])
    assert "172.18.0.0/24" in message and "172.18.0.0/16" in message
    assert "Pool overlaps with other one on this address space" in message
    assert issubclass(PoolOverlap, Forbidden)


def test_user_subnet_may_cover_a_host_route() -> None:
    # Docker checks host routes only when it picks the subnet itself.
    assert pool("192.168.1.0/24", routes=[N("192.168.1.0/24")]).subnet == N("192.168.1.0/24")


def test_input_errors_come_before_overlap() -> None:
    message = refused(InvalidParameter, "172.18.0.0/16", "10.0.0.1", existing=[N("172.18.0.0/16")])
    assert "gateway" in message


def test_gateway_outside_subnet() -> None:
    message = refused(InvalidParameter, "172.20.0.0/16", "172.21.0.1")
    assert message.startswith('invalid gateway "172.21.0.1"')
    assert "172.20.0.0/16" in message


@pytest.mark.parametrize("gateway", ["172.20.0.0", "172.20.255.255"])
def test_gateway_on_network_or_broadcast_address(gateway: str) -> None:
    message = refused(InvalidParameter, "172.20.0.0/16", gateway)
    assert f'invalid gateway "{gateway}"' in message


def test_gateway_of_other_family() -> None:
    message = refused(InvalidParameter, "172.20.0.0/16", "fd00::1")
    assert 'invalid gateway "fd00::1"' in message and "IPv4" in message


def test_gateway_not_an_address() -> None:
    message = refused(InvalidParameter, "172.20.0.0/16", "172.20.0.1/16")
    assert 'invalid gateway "172.20.0.1/16"' in message


def test_ipv6_gateway_on_subnet_router_anycast_address() -> None:
    assert 'invalid gateway "fd00::"' in refused(InvalidParameter, "fd00::/64", "fd00::")


def test_ip_range_outside_subnet() -> None:
    message = refused(InvalidParameter, "172.20.0.0/16", None, "10.0.0.0/24")
    assert message.startswith('invalid ip-range "10.0.0.0/24"')


def test_ip_range_bigger_than_subnet() -> None:
    message = refused(InvalidParameter, "172.20.0.0/16", None, "172.20.0.0/15")
    assert message.startswith('invalid ip-range "172.20.0.0/15"')


def test_ip_range_with_host_bits() -> None:
    message = refused(InvalidParameter, "172.20.0.0/16", None, "172.20.1.7/24")
    assert message == 'invalid ip-range "172.20.1.7/24": it should be 172.20.1.0/24'


def test_ip_range_of_other_family() -> None:
    message = refused(InvalidParameter, "172.20.0.0/16", None, "fd00::/64")
    assert 'invalid ip-range "fd00::/64"' in message


def test_aux_address_outside_subnet_names_the_entry() -> None:
    message = refused(InvalidParameter, "172.20.0.0/16", aux={"router": "192.168.5.1"})
    assert message.startswith('invalid auxiliary address router "192.168.5.1"')


def test_aux_address_that_is_the_gateway() -> None:
    message = refused(InvalidParameter, "172.20.0.0/16", aux={"gw": "172.20.0.1"})
    assert 'invalid auxiliary address gw "172.20.0.1"' in message and "gateway" in message


def test_aux_address_on_network_address() -> None:
    message = refused(InvalidParameter, "172.20.0.0/16", aux={"n": "172.20.0.0"})
    assert 'invalid auxiliary address n "172.20.0.0"' in message


def test_two_aux_entries_with_one_address() -> None:
    message = refused(InvalidParameter, "172.20.0.0/16", aux={"a": "172.20.0.9", "b": "172.20.0.9"})
    assert 'auxiliary address b "172.20.0.9"' in message and "auxiliary address a" in message


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"gateway": "172.20.0.1"}, "gateway"),
        ({"ip_range": "172.20.1.0/24"}, "ip-range"),
        ({"aux": {"x": "172.20.0.5"}}, "auxiliary address x"),
    ],
)
def test_settings_without_a_subnet_are_refused(kwargs: dict[str, object], field: str) -> None:
    message = refused(InvalidParameter, None, **kwargs)
    assert message.startswith(f"invalid {field}")


# --- stored form -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "p",
    [
        PoolConfig(subnet=N("172.17.0.0/16"), gateway=A("172.17.0.1")),
        PoolConfig(
            subnet=N("172.28.0.0/16"),
            gateway=A("172.28.5.254"),
            ip_range=N("172.28.5.0/24"),
            aux_addresses={"a": A("172.28.1.5")},
            user_subnet=True,
        ),
        PoolConfig(subnet=N("fd00:1::/64"), gateway=A("fd00:1::1"), user_subnet=True),
    ],
)
def test_doc_round_trip_through_json(p: PoolConfig) -> None:
    doc = json.loads(json.dumps(p.to_doc()))
    assert PoolConfig.from_doc(doc) == p


def test_doc_uses_plain_strings() -> None:
    p = pool("172.28.0.0/16", None, "172.28.5.0/24", {"a": "172.28.1.5"})
    assert p.to_doc() == {
        "subnet": "172.28.0.0/16",
        "gateway": "172.28.0.1",
        "ip_range": "172.28.5.0/24",
        "aux_addresses": {"a": "172.28.1.5"},
        "user_subnet": True,
    }


def test_corrupt_doc_is_internal() -> None:
    with pytest.raises(Internal):
        PoolConfig.from_doc({"subnet": "not a subnet", "gateway": "1.2.3.4"})
    with pytest.raises(Internal):
        PoolConfig.from_doc({"gateway": "1.2.3.4"})


# --- overlaps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("172.18.0.0/16", "172.18.4.0/24", True),
        ("172.18.4.0/24", "172.18.0.0/16", True),
        ("172.18.0.0/16", "172.19.0.0/16", False),
        ("fd00::/64", "fd00::/48", True),
        ("fd00::/64", "172.18.0.0/16", False),
    ],
)
def test_overlaps(a: str, b: str, expected: bool) -> None:
    assert overlaps(N(a), N(b)) is expected
