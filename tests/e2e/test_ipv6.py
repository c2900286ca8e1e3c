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


def test_an_ipv6_only_network(busybox: Daemon) -> None:
    from tests.integration.hosts import http_get

    d = busybox
    ok(d.cli("network", "create", "--ipv4=false", "--ipv6", "--subnet", "fd00:66::/64",
             "only6"))
    doc = json.loads(ok(d.cli("network", "inspect", "only6")))[0]
    assert (doc["EnableIPv4"], doc["EnableIPv6"]) == (False, True)
    assert doc["IPAM"]["Config"] == [{"Subnet": "fd00:66::/64", "Gateway": "fd00:66::1"}]

    ok(d.cli("run", "-d", "--name", "v6web", "--network", "only6", "-p", "8086:80", "busybox",
             "sh", "-c", "echo six > /index.html; exec httpd -f -p 80 -h /"))
    net = inspect(d, "v6web")["NetworkSettings"]["Networks"]["only6"]  # type: ignore[index]
    assert (net["IPAddress"], net["GlobalIPv6Address"]) == ("", "fd00:66::2")
    # No IPv4 address at all on its interface; its default route is the IPv6 gateway's.
    assert "inet " not in ok(d.cli("exec", "v6web", "ip", "addr", "show", "eth0"))
    assert ok(d.cli("exec", "v6web", "ip", "-6", "route", "show", "default")).split()[:3] == [
        "default", "via", "fd00:66::1"]
    # Peers find it by name (AAAA) and reach it; the host reaches its published port.
    peer = d.cli("run", "--rm", "--network", "only6", "busybox", "wget", "-qO-",
                 "http://v6web/")
    assert (peer.returncode, peer.stdout) == (0, "six\n"), peer.stderr
    eventually(lambda: http_get(d.host.netns, "http://[fd00:66::1]:8086/") == "six\n")

    for args, message in ((("--ipv4=false", "neither"), "IPv4 or IPv6 must be enabled"),
                          (("--ipv4=false", "--ipv6", "--subnet", "10.1.0.0/24", "mixed"),
                           'invalid subnet "10.1.0.0/24": IPv4 is disabled on this network')):
        refused = d.cli("network", "create", *args)
        assert refused.returncode == 1 and message in refused.stderr
