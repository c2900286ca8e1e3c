"""``network create -d macvlan``: containers put straight onto the parent interface's
segment, as stations of their own beside the host.

The "LAN" is a namespace of the test's, cabled to the daemon's host namespace by a veth
pair whose host end (``lan0``) is the macvlan parent; a web server there stands for a
machine on the physical network."""

from __future__ import annotations

import json
import shutil
import signal
from collections.abc import Iterator

import pytest

from tests.e2e.daemon import Daemon, lines, ok
from tests.e2e.test_containers import eventually
from tests.integration.hosts import Host, http_server, make_host, run_in, snapshot

pytestmark = pytest.mark.root

LAN_GATEWAY = "10.99.0.1"


@pytest.fixture
def lan(busybox: Daemon) -> Iterator[Host]:
    """A machine on the parent's segment, at 10.99.0.1, serving "lan" over HTTP."""
    with make_host("lan") as machine:
        run_in(busybox.host.netns, ["ip", "link", "add", "lan0", "type", "veth", "peer", "name",
                                    "eth0", "netns", machine.netns]).check_returncode()
        run_in(busybox.host.netns, ["ip", "link", "set", "lan0", "up"]).check_returncode()
        machine.run(["ip", "addr", "add", f"{LAN_GATEWAY}/24", "dev", "eth0"]).check_returncode()
        machine.run(["ip", "link", "set", "eth0", "up"]).check_returncode()
        with http_server(machine.netns, body="lan"):
            yield machine


def host_links(d: Daemon) -> list[str]:
    out = run_in(d.host.netns, ["ip", "-o", "link"]).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]


def test_containers_join_the_parents_segment_as_stations_of_their_own(
        busybox: Daemon, lan: Host) -> None:
    d = busybox
    ok(d.cli("network", "create", "-d", "macvlan", "--subnet", "10.99.0.0/24", "--gateway",
             LAN_GATEWAY, "-o", "parent=lan0", "mv"))
    doc = json.loads(ok(d.cli("network", "inspect", "mv")))[0]
    assert (doc["Driver"], doc["Options"]) == ("macvlan", {"parent": "lan0"})
    ok(d.cli("run", "-d", "--name", "web", "--network", "mv", "busybox", "sleep", "300"))
    mac = ok(d.cli("inspect", "-f", "{{.NetworkSettings.Networks.mv.MacAddress}}", "web")
             ).strip()
    ip = ok(d.cli("inspect", "-f", "{{.NetworkSettings.Networks.mv.IPAddress}}", "web")).strip()
    assert ip == "10.99.0.2"

    # Its interface is a macvlan in bridge mode; no bridge or veth was made on the host.
    details = ok(d.cli("exec", "web", "cat", "/sys/class/net/eth0/address"))
    assert details.strip() == mac
    assert not any(name.startswith(("dy-", "dyv")) for name in host_links(d)
                   if name != "dockyard0")

    # It reaches the machine on the segment directly, and that machine sees it by its own
    # MAC: a station on the LAN, not traffic NATed behind the host.
    fetched = ok(d.cli("exec", "web", "wget", "-qO-", f"http://{LAN_GATEWAY}/"))
    assert fetched == "lan"
    neighbours = lan.run(["ip", "neigh", "show", ip]).stdout
    assert mac in neighbours

    # Peers on the network find it by name (the embedded DNS serves user macvlan networks).
    peer = d.cli("run", "--rm", "--network", "mv", "busybox", "ping", "-c1", "-W2", "web")
    assert peer.returncode == 0, peer.stderr
    assert f"({ip})" in peer.stdout

    # The daemon is killed and comes back: the container is adopted, still on the LAN.
    d.stop(signal.SIGKILL)
    d.start()
    assert ok(d.cli("exec", "web", "wget", "-qO-", f"http://{LAN_GATEWAY}/")) == "lan"

    ok(d.cli("rm", "-f", "web"))
    ok(d.cli("network", "rm", "mv"))
    assert "lan0" in host_links(d)  # the user's parent stays


def test_without_a_parent_the_network_is_a_segment_of_its_own(busybox: Daemon) -> None:
    d = busybox
    network_id = ok(d.cli("network", "create", "-d", "macvlan", "iso")).strip()
    parent = "dym" + network_id[:12]
    assert parent in host_links(d)
    ok(d.cli("run", "-d", "--name", "one", "--network", "iso", "busybox", "sleep", "300"))
    peer = d.cli("run", "--rm", "--network", "iso", "busybox", "ping", "-c1", "-W2", "one")
    assert peer.returncode == 0, peer.stderr
    ok(d.cli("rm", "-f", "one"))
    ok(d.cli("network", "rm", "iso"))
    eventually(lambda: parent not in host_links(d))


@pytest.mark.parametrize(("options", "message"), [
    (("-o", "parent=nothere0"), "-o parent interface was not found on the host: nothere0"),
    (("-o", "parent=lan0.5000"), "vlan id must be between 1-4094, received: 5000"),
    (("-o", "parent=lan0", "-o", "macvlan_mode=loud"),
     "requested macvlan mode 'loud' is not valid, 'bridge' mode is the macvlan driver "
     "default"),
    (("-o", "parent=lan0"), "network taken is already using parent interface lan0"),
])
def test_a_refused_macvlan_network_changes_nothing(busybox: Daemon, lan: Host,
                                                    options: tuple[str, ...],
                                                    message: str) -> None:
    d = busybox
    ok(d.cli("network", "create", "-d", "macvlan", "-o", "parent=lan0", "taken"))
    before = snapshot(d.host)
    refused = d.cli("network", "create", "-d", "macvlan", *options, "other")
    assert refused.returncode == 1
    assert refused.stderr == f"Error response from daemon: {message}\n"
    assert snapshot(d.host) == before


@pytest.mark.skipif(shutil.which("docker") is None,
                    reason="the docker CLI is not installed on this machine")
def test_docker_cli_macvlan(busybox: Daemon, lan: Host) -> None:
    d = busybox
    ok(d.docker("network", "create", "-d", "macvlan", "--subnet", "10.99.0.0/24", "--gateway",
                LAN_GATEWAY, "-o", "parent=lan0", "mv"))
    assert lines(ok(d.docker("network", "ls", "--filter", "driver=macvlan",
                             "--format", "{{.Name}} {{.Driver}}"))) == ["mv macvlan"]
    out = ok(d.docker("run", "--rm", "--network", "mv", "busybox", "wget", "-qO-",
                      f"http://{LAN_GATEWAY}/"))
    assert out == "lan"
    assert "macvlan" in ok(d.docker("info", "--format", "{{json .Plugins.Network}}"))
