"""Bindings as Docker shows them (``NetworkSettings.Ports``) and as firewall forwards."""

from __future__ import annotations

import json
from ipaddress import ip_address

from dockyard.nft import PortForward
from dockyard.portmap import Binding, ExposedPort, to_docker_ports, to_port_forwards


def test_binding_on_all_addresses_shows_both_families_with_one_port() -> None:
    got = to_docker_ports([Binding("tcp", 80, None, 8080)])
    assert got == {
        "80/tcp": [
            {"HostIp": "0.0.0.0", "HostPort": "8080"},
            {"HostIp": "::", "HostPort": "8080"},
        ]
    }


def test_single_stack_host_shows_only_ipv4() -> None:
    got = to_docker_ports([Binding("tcp", 80, None, 8080)], dual_stack=False)
    assert got == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}


def test_exposed_only_ports_are_null_and_keys_sort_like_go() -> None:
    got = to_docker_ports(
        [Binding("udp", 53, "127.0.0.1", 5353), Binding("tcp", 80, "::1", 8080)],
        exposed=[ExposedPort("tcp", 443), ExposedPort("tcp", 80)],
    )
    assert json.dumps(got) == json.dumps(
        {
            "443/tcp": None,
            "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}],
            "80/tcp": [{"HostIp": "::1", "HostPort": "8080"}],
        }
    )


def test_several_bindings_of_one_port_are_listed_in_address_order() -> None:
    got = to_docker_ports([Binding("tcp", 80, "::1", 8082), Binding("tcp", 80, "127.0.0.1", 8081)])
    assert got["80/tcp"] == [
        {"HostIp": "127.0.0.1", "HostPort": "8081"},
        {"HostIp": "::1", "HostPort": "8082"},
    ]


def test_forwards_for_all_addresses_cover_each_container_family() -> None:
    v4, v6 = ip_address("172.18.0.2"), ip_address("fd00::2")
    got = to_port_forwards(Binding("tcp", 80, None, 8080), [v4, v6], "dy-front")
    assert got == [
        PortForward("tcp", None, 8080, v4, 80, "dy-front"),
        PortForward("tcp", None, 8080, v6, 80, "dy-front"),
    ]


def test_forwards_for_one_host_address_keep_its_family_only() -> None:
    v4, v6 = ip_address("172.18.0.2"), ip_address("fd00::2")
    got = to_port_forwards(Binding("udp", 53, "127.0.0.1", 5353), [v4, v6], "dy-front")
    assert got == [PortForward("udp", ip_address("127.0.0.1"), 5353, v4, 53, "dy-front")]
    assert to_port_forwards(Binding("tcp", 80, "::", 8080), [v4], "dy-front") == []
