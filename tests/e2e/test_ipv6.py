"""IPv6 networks as Docker (27.0 on) makes them: IPv4 always, and an IPv6 subnet from the
engine's own unique local prefix when none is given."""

from __future__ import annotations

import json
from ipaddress import IPv6Network, ip_address, ip_network

import pytest

from dockyard.ipam.pools import ula_base
from tests.e2e.daemon import Daemon, ok
from tests.e2e.test_containers import eventually, inspect

pytestmark = pytest.mark.root


def test_ipv6_without_a_subnet_makes_a_dual_stack_network(busybox: Daemon) -> None:
    d = busybox
    ok(d.cli("network", "create", "--ipv6", "six"))
    doc = json.loads(ok(d.cli("network", "inspect", "six")))[0]
    v4, v6 = doc["IPAM"]["Config"]
    assert (doc["EnableIPv4"], doc["EnableIPv6"]) == (True, True)
    assert v4 == {"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1"}
    engine_id = json.loads(ok(d.cli("info", "--format", "{{json .ID}}")))
    subnet = IPv6Network(v6["Subnet"])
    assert subnet.prefixlen == 64 and subnet.subnet_of(ula_base(engine_id))
    assert v6["Gateway"] == str(subnet.network_address + 1)

    ok(d.cli("run", "-d", "--name", "c6", "--network", "six", "busybox", "sleep", "300"))
    net = inspect(d, "c6")["NetworkSettings"]["Networks"]["six"]  # type: ignore[index]
    assert ip_address(net["GlobalIPv6Address"]) in subnet
    assert ip_address(net["IPAddress"]) in ip_network(v4["Subnet"])
    # The container reaches its gateway over IPv6 (once its address is past DAD).
    eventually(lambda: d.cli("exec", "c6", "ping", "-6", "-c", "1", "-W", "1",
                             v6["Gateway"]).returncode == 0)

    # A second network takes the next /64, and an IPv6 subnet given alone still comes with
    # IPv4 from the defaults.
    ok(d.cli("network", "create", "--ipv6", "seven"))
    ok(d.cli("network", "create", "--ipv6", "--subnet", "fd00:77::/64", "given"))
    subnets = [[c["Subnet"] for c in json.loads(ok(d.cli("network", "inspect", name)))[0]
                ["IPAM"]["Config"]] for name in ("seven", "given")]
    assert subnets[0][0] == "172.19.0.0/16"
    assert IPv6Network(subnets[0][1]).subnet_of(ula_base(engine_id))
    assert subnets[0][1] != v6["Subnet"]
    assert subnets[1] == ["172.20.0.0/16", "fd00:77::/64"]
    ok(d.cli("rm", "-f", "c6"))
    ok(d.cli("network", "rm", "six", "seven", "given"))
