"""Published ports: DNAT from the host's addresses, another host, random ports, refusals."""

from __future__ import annotations

import socket

import pytest

from dockyard.engine import Engine
from dockyard.errors import Conflict
from dockyard.portmap import parse_publish
from tests.integration.hosts import Host, http_get, http_server, link_hosts, make_host, snapshot

pytestmark = pytest.mark.root


def test_published_port_from_localhost_host_address_and_another_host(
    engine: Engine, host: Host
) -> None:
    engine.create_network("front")
    web = engine.create_sandbox("web", ports=parse_publish("8080:80"))
    engine.connect("front", "web")
    with make_host("other") as other:
        link_hosts(host, other)
        with http_server(web.netns, 80, "published"):
            assert http_get(host.netns, "http://127.0.0.1:8080/") == "published"
            assert http_get(host.netns, "http://10.99.0.1:8080/") == "published"
            assert http_get(other.netns, "http://10.99.0.1:8080/") == "published"
            # Not published: the container port itself is not open on the host.
            assert http_get(other.netns, "http://10.99.0.1:80/", timeout=1) is None


def test_lone_container_port_gets_a_random_ephemeral_port(engine: Engine, host: Host) -> None:
    engine.create_network("front")
    web = engine.create_sandbox("web", ports=parse_publish("80"))
    engine.connect("front", "web")
    (binding,) = web.ports
    low, high = engine.kernel.ephemeral_port_range()
    assert low <= binding.host_port <= high
    with http_server(web.netns, 80, "random"):
        assert http_get(host.netns, f"http://127.0.0.1:{binding.host_port}/") == "random"


def test_udp_and_ranges(engine: Engine) -> None:
    box = engine.create_sandbox("box", ports=parse_publish("9000-9002:7000-7002/udp"))
    assert sorted((b.host_port, b.container_port, b.proto) for b in box.ports) == [
        (9000, 7000, "udp"), (9001, 7001, "udp"), (9002, 7002, "udp")]


def test_taken_host_port_is_refused_and_changes_nothing(engine: Engine, host: Host) -> None:
    engine.create_sandbox("first", ports=parse_publish("8080:80"))
    before = snapshot(host)
    with pytest.raises(Conflict, match="8080"):
        engine.create_sandbox("second", ports=parse_publish("8080:80"))
    assert snapshot(host) == before


def test_port_held_by_a_host_process_is_refused(engine: Engine, host: Host) -> None:
    def hold() -> socket.socket:
        sock = socket.socket()
        sock.bind(("0.0.0.0", 8099))
        sock.listen()
        return sock

    from dockyard.kernel.ns import run_in_netns

    sock = run_in_netns(host.netns, hold)
    try:
        with pytest.raises(Conflict, match="8099"):
            engine.create_sandbox("web", ports=parse_publish("8099:80"))
    finally:
        sock.close()


def test_container_reaches_its_own_published_port_through_the_host(
    engine: Engine, host: Host
) -> None:
    engine.create_network("front")
    web = engine.create_sandbox("web", ports=parse_publish("8088:80"))
    engine.connect("front", "web")
    host.run(["ip", "addr", "add", "10.66.0.1/32", "dev", "lo"]).check_returncode()
    with http_server(web.netns, 80, "hairpin"):
        assert http_get(web.netns, "http://10.66.0.1:8088/") == "hairpin"


def test_firewall_repairs_itself_after_someone_flushed_it(engine: Engine, host: Host) -> None:
    engine.create_network("front")
    host.run(["nft", "delete", "table", "inet", "dockyard"]).check_returncode()
    # The next change is a delta against a table that is gone; the whole table is
    # applied instead, so the new published port works and isolation is back.
    web = engine.create_sandbox("web", ports=parse_publish("8089:80"))
    engine.connect("front", "web")
    with http_server(web.netns, 80, "repaired"):
        assert http_get(host.netns, "http://127.0.0.1:8089/") == "repaired"
    assert "dockyard" in host.run(["nft", "list", "tables"]).stdout


def test_host_binding_ipv4_option_limits_where_ports_answer(engine: Engine, host: Host) -> None:
    engine.create_network(
        "local", options={"com.docker.network.bridge.host_binding_ipv4": "127.0.0.1"})
    web = engine.create_sandbox("web", ports=parse_publish("8087:80"))
    engine.connect("local", "web")
    host.run(["ip", "addr", "add", "10.77.0.1/32", "dev", "lo"]).check_returncode()
    with http_server(web.netns, 80, "loopback only"):
        assert http_get(host.netns, "http://127.0.0.1:8087/") == "loopback only"
        assert http_get(host.netns, "http://10.77.0.1:8087/", timeout=1) is None
