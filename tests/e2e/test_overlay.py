"""``network create -d overlay -o peers=…``: one network across two hosts over VXLAN.

Two daemons, each in a host namespace of its own, cabled by a veth pair (the underlay,
10.99.0.1 and 10.99.0.2); each makes the overlay under the same name with the other as
its peer and its own slice of the subnet."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.e2e.daemon import Daemon, ok, running_daemon
from tests.integration.hosts import link_hosts, run_in, snapshot, wait_for

pytestmark = pytest.mark.root


@pytest.fixture
def second(busybox: Daemon, busybox_tar: str) -> Iterator[Daemon]:
    """Another host with its own daemon, cabled to the first one's."""
    with running_daemon() as other:
        ok(other.cli("import", busybox_tar, "busybox"))
        link_hosts(busybox.host, other.host, "10.99.0.1/24", "10.99.0.2/24")
        try:
            yield other
        finally:
            ids = other.cli("ps", "-aq").stdout.split()
            if ids:
                other.cli("rm", "-f", *ids)


def make_overlay(d: Daemon, peer: str, ip_range: str) -> str:
    return ok(d.cli("network", "create", "-d", "overlay", "--subnet", "10.200.0.0/24",
                    "--ip-range", ip_range, "-o", f"peers={peer}", "mesh")).strip()


def test_containers_on_two_hosts_share_one_overlay_network(busybox: Daemon,
                                                           second: Daemon) -> None:
    a, b = busybox, second
    make_overlay(a, "10.99.0.2", "10.200.0.0/25")
    make_overlay(b, "10.99.0.1", "10.200.0.128/25")
    doc = json.loads(ok(a.cli("network", "inspect", "mesh")))[0]
    vni = doc["Options"]["com.docker.network.driver.overlay.vxlanid_list"]
    # the same name gives the same VXLAN id on both hosts
    assert json.loads(ok(b.cli("network", "inspect", "mesh")))[0]["Options"][
        "com.docker.network.driver.overlay.vxlanid_list"] == vni

    ok(b.cli("run", "-d", "--name", "server", "--network", "mesh", "busybox", "sh", "-c",
             "echo overlay > /index.html; exec httpd -f -p 80 -h /"))
    server_ip = ok(b.cli("inspect", "-f", "{{.NetworkSettings.Networks.mesh.IPAddress}}",
                         "server")).strip()
    assert server_ip == "10.200.0.128"
    fetched = a.cli("run", "--rm", "--network", "mesh", "busybox", "sh", "-c",
                    f"cat /sys/class/net/eth0/mtu; wget -qO- http://{server_ip}/")
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout == "1450\noverlay\n"

    # It went through host a's VXLAN link, with that id, to the peer's port 4789.
    vxlan = "dyo" + doc["Id"][:12]
    details = run_in(a.host.netns, ["ip", "-d", "link", "show", vxlan]).stdout
    assert f"vxlan id {vni} " in details and "dstport 4789" in details
    stats = json.loads(run_in(a.host.netns, ["ip", "-s", "-j", "link", "show", vxlan]).stdout)
    assert stats[0]["stats64"]["tx"]["packets"] > 0

    ok(a.cli("network", "rm", "mesh"))

    def gone() -> bool:
        links = run_in(a.host.netns, ["ip", "-o", "link"]).stdout
        return vxlan not in links and "dy-" + doc["Id"][:12] not in links
    wait_for(gone, what="the overlay's links removed")


def test_an_overlay_without_peers_is_refused_and_changes_nothing(busybox: Daemon) -> None:
    before = snapshot(busybox.host)
    for options, words in ((("-o", "peers=nope"), "peers and local are IP addresses"),
                           ((), "an overlay network needs its peers here")):
        refused = busybox.cli("network", "create", "-d", "overlay", *options, "mesh")
        assert refused.returncode == 1
        assert words in refused.stderr
    assert snapshot(busybox.host) == before
