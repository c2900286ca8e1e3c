"""Engine core on real namespaces: addresses, reach, isolation, routes, modes."""

from __future__ import annotations

import pytest

from dockyard.engine import Engine
from dockyard.engine.engine import PoolRequest
from dockyard.errors import Conflict, Forbidden, InvalidParameter, NotFound
from tests.integration.hosts import Host, http_get, http_server, run_in, snapshot

pytestmark = pytest.mark.root


def test_default_bridge_hands_out_addresses_in_order(engine: Engine) -> None:
    bridge = engine.network("bridge")
    assert bridge.device == "dockyard0"
    assert bridge.pool_v4() is not None and bridge.pool_v4().subnet == "172.17.0.0/16"  # type: ignore[union-attr]
    ips = []
    for name in ("a", "b", "c"):
        engine.create_sandbox(name)
        ips.append(engine.connect("bridge", name).ipv4)
    assert ips == ["172.17.0.2/16", "172.17.0.3/16", "172.17.0.4/16"]
    # A released address is handed out again first, as Docker does.
    engine.remove_sandbox("b")
    engine.create_sandbox("d")
    assert engine.connect("bridge", "d").ipv4 == "172.17.0.3/16"


def test_first_user_network_takes_172_18(engine: Engine, host: Host) -> None:
    net = engine.create_network("front")
    assert [p.subnet for p in net.pools] == ["172.18.0.0/16"]
    assert net.pools[0].gateway == "172.18.0.1"
    out = host.run(["ip", "-br", "addr", "show", "dev", net.device]).stdout
    assert "172.18.0.1/16" in out
    flags = host.run(["ip", "-o", "link", "show", "dev", net.device]).stdout.split("<")[1]
    assert "UP" in flags.split(">")[0].split(",")
    key = f"net/ipv4/conf/{net.device}/route_localnet"  # published ports on 127.0.0.1
    assert host.run(["cat", f"/proc/sys/{key}"]).stdout.strip() == "1"
    assert engine.create_network("back").pools[0].subnet == "172.19.0.0/16"


def test_a_subnet_the_host_routes_is_skipped_and_a_removed_one_is_free_at_once(
        engine: Engine, host: Host) -> None:
    """Docker's overlap check against the host's routes: a route to 172.18.0.0/16 (a VPN,
    another engine's bridge) moves the choice on; the route of a bridge still being deleted
    in the background does not."""
    for argv in (["ip", "link", "add", "vpn0", "type", "bridge"],
                 ["ip", "link", "set", "vpn0", "up"],
                 ["ip", "route", "add", "172.18.0.0/16", "dev", "vpn0"]):
        assert host.run(argv).returncode == 0
    assert engine.create_network("front").pools[0].subnet == "172.19.0.0/16"
    assert host.run(["ip", "link", "del", "vpn0"]).returncode == 0
    assert engine.create_network("back").pools[0].subnet == "172.18.0.0/16"
    engine.remove_network("back")  # its bridge is deleted in the background
    assert engine.create_network("again").pools[0].subnet == "172.18.0.0/16"


def test_reach_within_a_network_on_any_port_but_not_across(engine: Engine) -> None:
    engine.create_network("front")
    engine.create_network("back")
    web = engine.create_sandbox("web")
    client = engine.create_sandbox("client")
    stranger = engine.create_sandbox("stranger")
    web_ip = engine.connect("front", "web").ipv4_address
    engine.connect("front", "client")
    engine.connect("back", "stranger")
    with http_server(web.netns, 8081, "from web"):
        # No expose, no publish: on a shared network every port answers.
        assert http_get(client.netns, f"http://{web_ip}:8081/") == "from web"
        assert http_get(stranger.netns, f"http://{web_ip}:8081/", timeout=1) is None


def test_two_networks_give_eth0_eth1_and_docker_default_route(engine: Engine) -> None:
    engine.create_network("zeta")
    engine.create_network("alpha")
    box = engine.create_sandbox("box")
    first = engine.connect("zeta", "box")
    second = engine.connect("alpha", "box")
    assert (first.ifname, second.ifname) == ("eth0", "eth1")
    links = run_in(box.netns, ["ip", "-br", "link"]).stdout
    assert "eth0" in links and "eth1" in links
    # Docker picks the gateway network by name when priorities tie: alpha, even though
    # zeta was connected first.
    route = run_in(box.netns, ["ip", "route", "show", "default"]).stdout
    assert f"via {engine.network('alpha').pools[0].gateway} dev eth1" in route
    # A higher gw-priority wins; leaving moves the route back.
    engine.create_network("prio")
    engine.create_sandbox("other")
    engine.disconnect("alpha", "box")
    route = run_in(box.netns, ["ip", "route", "show", "default"]).stdout
    assert f"via {engine.network('zeta').pools[0].gateway} dev eth0" in route
    engine.connect("prio", "box", gw_priority=10)
    route = run_in(box.netns, ["ip", "route", "show", "default"]).stdout
    assert f"via {engine.network('prio').pools[0].gateway}" in route


def test_container_mode_shares_the_first_sandbox(engine: Engine) -> None:
    engine.create_network("front")
    first = engine.create_sandbox("first")
    ip = engine.connect("front", "first").ipv4_address
    second = engine.create_sandbox("second", mode="container", shares="first")
    assert second.netns == first.netns
    assert ip in run_in(second.netns, ["ip", "-br", "addr"]).stdout
    with http_server(first.netns, 8082, "shared"):
        assert http_get(second.netns, "http://127.0.0.1:8082/") == "shared"
    with pytest.raises(Forbidden):
        engine.connect("front", "second")
    with pytest.raises(Conflict):
        engine.remove_sandbox("first")


def test_none_has_only_loopback(engine: Engine) -> None:
    box = engine.create_sandbox("lonely")
    engine.connect("none", "lonely")
    links = [line.split()[0] for line in run_in(box.netns, ["ip", "-br", "link"]).stdout
             .splitlines()]
    assert links == ["lo"]
    with pytest.raises(Forbidden):
        engine.connect("bridge", "lonely")


def test_internal_network_has_no_way_out(engine: Engine, host: Host) -> None:
    engine.create_network("sealed", internal=True)
    engine.create_network("open")
    inside = engine.create_sandbox("inside")
    outside = engine.create_sandbox("outside")
    engine.connect("sealed", "inside")
    engine.connect("open", "outside")
    peer = engine.create_sandbox("peer")
    peer_ip = engine.connect("sealed", "peer").ipv4_address
    assert run_in(inside.netns, ["ip", "route", "show", "default"]).stdout == ""
    # The host plays "outside": a server on a host-only address.
    host.run(["ip", "addr", "add", "10.55.0.1/32", "dev", "lo"]).check_returncode()
    with http_server(host.netns, 8083, "outside world"):
        assert http_get(outside.netns, "http://10.55.0.1:8083/") == "outside world"
        assert http_get(inside.netns, "http://10.55.0.1:8083/", timeout=1) is None
    with http_server(peer.netns, 8084, "neighbour"):
        assert http_get(inside.netns, f"http://{peer_ip}:8084/") == "neighbour"


def test_icc_false_blocks_containers_on_one_bridge(engine: Engine) -> None:
    engine.create_network("quiet", options={"com.docker.network.bridge.enable_icc": "false"})
    a = engine.create_sandbox("a")
    b = engine.create_sandbox("b")
    a_ip = engine.connect("quiet", "a").ipv4_address
    engine.connect("quiet", "b")
    with http_server(a.netns, 8085):
        assert http_get(b.netns, f"http://{a_ip}:8085/", timeout=1) is None


def test_user_subnet_gateway_range_aux_and_static_ip(engine: Engine) -> None:
    net = engine.create_network(
        "custom",
        pools=[PoolRequest("10.30.0.0/16", "10.30.0.254", "10.30.5.0/24",
                           {"printer": "10.30.5.0"})],
    )
    assert net.pools[0].gateway == "10.30.0.254"
    engine.create_sandbox("a")
    engine.create_sandbox("b")
    assert engine.connect("custom", "a").ipv4 == "10.30.5.1/16"
    assert engine.connect("custom", "b", ipv4="10.30.9.9").ipv4 == "10.30.9.9/16"
    engine.create_sandbox("c")
    with pytest.raises(Conflict):
        engine.connect("custom", "c", ipv4="10.30.9.9")


def test_ipv6_network(engine: Engine) -> None:
    engine.create_network("six", enable_ipv6=True,
                          pools=[PoolRequest("10.40.0.0/24"), PoolRequest("fd00:40::/64")])
    box = engine.create_sandbox("box")
    ep = engine.connect("six", "box")
    assert ep.ipv6 == "fd00:40::2/64"
    assert "fd00:40::2" in run_in(box.netns, ["ip", "-6", "-br", "addr"]).stdout
    assert "via fd00:40::1" in run_in(box.netns, ["ip", "-6", "route", "show", "default"]).stdout
    # An IPv6 endpoint keeps its link-local address, which neighbour discovery needs.
    assert "fe80::" in run_in(box.netns, ["ip", "-6", "-br", "addr", "show", "eth0"]).stdout


def test_ipv4_only_endpoint_has_no_ipv6_and_sends_no_ipv6(engine: Engine, host: Host) -> None:
    """As Docker disables IPv6 on endpoints of networks without it: no link-local address
    in the container, none on the bridge port, so no DAD or MLD frame is ever flooded."""
    net = engine.create_network("four")
    box = engine.create_sandbox("box")
    ep = engine.connect("four", "box")
    port = host.run(["ip", "-o", "link", "show", "master", net.device]).stdout.split(": ")[1]
    port = port.split("@")[0]
    # Addresses appear as soon as a link is up with carrier: a wait would not change this.
    assert run_in(box.netns, ["ip", "-6", "-o", "addr", "show", "dev", "eth0"]).stdout == ""
    assert host.run(["ip", "-6", "-o", "addr", "show", "dev", port]).stdout == ""
    assert ep.ipv4 and run_in(box.netns, ["ip", "-4", "-br", "addr"]).stdout.count("/16") == 1


@pytest.mark.parametrize(
    "call, kind",
    [
        (lambda e: e.create_network(""), InvalidParameter),
        (lambda e: e.create_network("tab\tname"), InvalidParameter),
        (lambda e: e.create_sandbox("bad name!"), InvalidParameter),
        (lambda e: e.create_network("bridge"), Conflict),
        (lambda e: e.create_network("x", pools=[PoolRequest("10.0.0.0/33")]), InvalidParameter),
        (lambda e: e.create_network("x", pools=[PoolRequest("172.17.5.0/24")]), Forbidden),
        (lambda e: e.create_network("x", pools=[PoolRequest("10.9.0.0/16", "10.8.0.1")]),
         InvalidParameter),
        (lambda e: e.create_network("x", pools=[PoolRequest("10.9.0.0/16", None, "10.8.0.0/24")]),
         InvalidParameter),
        (lambda e: e.create_network("x", "nosuchdriver"), NotFound),
        (lambda e: e.create_network("x", "host"), Forbidden),
        (lambda e: e.create_network(
            "x", options={"com.docker.network.bridge.name": "this-name-is-too-long"}),
         InvalidParameter),
        (lambda e: e.remove_network("bridge"), Forbidden),
        (lambda e: e.remove_network("nope"), NotFound),
        (lambda e: e.connect("nope", "s"), NotFound),
        (lambda e: e.connect("bridge", "s", ipv4="172.17.0.9"), InvalidParameter),
        (lambda e: e.create_sandbox("s"), Conflict),
        (lambda e: e.create_sandbox("t", mode="container", shares="ghost"), NotFound),
    ],
)
def test_refused_input_changes_nothing(engine: Engine, host: Host, call, kind) -> None:  # type: ignore[no-untyped-def]
    engine.create_sandbox("s")
    before = snapshot(host)
    with pytest.raises(kind) as info:
        call(engine)
    assert str(info.value)
    assert snapshot(host) == before


def test_state_survives_a_new_process(host: Host) -> None:
    first = host.engine()
    net = first.create_network("kept")
    first.create_sandbox("box")
    ep = first.connect("kept", "box")
    first.close()
    second = host.engine()
    try:
        assert second.network("kept").id == net.id
        assert second.state().endpoint(net.id, second.sandbox("box").id) == ep
    finally:
        second.close()


def test_host_sysctls_are_the_host_namespaces_from_any_thread(engine: Engine, host: Host) -> None:
    """A thread already in the host's namespace reads and writes its /proc/sys directly;
    any other thread (this test's, in the machine's own namespace) goes through the host's
    worker: both must see the host's value, never the machine's."""
    from dockyard.kernel.ns import run_in_netns

    key = "net/ipv4/conf/lo/route_localnet"
    assert host.run(["sysctl", "-qw", "net.ipv4.conf.lo.route_localnet=1"]).returncode == 0
    with open(f"/proc/sys/{key}") as f:
        assert f.read().strip() == "0"  # the machine's own, untouched
    kernel = engine.kernel
    assert kernel.read_sysctl(key) == "1"  # type: ignore[attr-defined]
    assert run_in_netns(host.netns, lambda: kernel.read_sysctl(key)) == "1"  # type: ignore[attr-defined]


def test_an_endpoints_veth_pair_has_one_queue_each_way(engine: Engine, host: Host) -> None:
    """The kernel would give a veth one queue per possible CPU, each sysfs nodes and state
    held for the container's lifetime; a veth never spreads packets over queues."""
    net = engine.create_network("queues")
    box = engine.create_sandbox("box")
    engine.connect("queues", "box")
    port = host.run(["ip", "-o", "link", "show", "master", net.device]).stdout.split(": ")[1]
    port = port.split("@")[0]
    for details in (host.run(["ip", "-d", "link", "show", port]).stdout,
                    run_in(box.netns, ["ip", "-d", "link", "show", "eth0"]).stdout):
        assert "numtxqueues 1 numrxqueues 1 " in details
