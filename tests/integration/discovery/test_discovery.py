"""Service discovery as a container sees it: busybox ``nslookup``, ``ping`` and ``wget``
by name inside real containers, answered by the daemon's embedded resolver."""

from __future__ import annotations

import asyncio
import random
import socket

import dns.message
import pytest

from dockyard.engine import Engine
from dockyard.kernel.netns_socket import open_socket_in_netns
from dockyard.runtime import ContainerManager, ContainerSpec
from tests.integration.discovery.conftest import Resolver
from tests.integration.dns.netns_loop import NetnsLoop, loop_in
from tests.integration.dns.stub_upstream import BIG_RECORDS, EXT_ADDRESS, StubUpstream
from tests.integration.hosts import run_in, wait_for

pytestmark = pytest.mark.root

SLEEP = ("sleep", "600")
HTTPD = ("sh", "-c", "mkdir -p /www && echo hello from $(hostname) > /www/index.html && "
         "exec httpd -f -p 80 -h /www")


def sh(manager: ContainerManager, ref: str, *cmd: str) -> tuple[int, str]:
    result = manager.exec(ref, list(cmd), timeout=20)
    return result.exit_code, result.stdout.decode() + result.stderr.decode()


def nslookup(manager: ContainerManager, ref: str, name: str) -> list[str]:
    """The addresses busybox nslookup prints for ``name`` (all of them, in order); [] when
    it finds none."""
    code, out = sh(manager, ref, "nslookup", name)
    addresses: list[str] = []
    in_answer = False
    for line in out.splitlines():
        if line.startswith("Name:"):
            in_answer = True
        elif in_answer and line.startswith("Address:"):
            address = line.split(":", 1)[1].strip()
            if address not in addresses:
                addresses.append(address)
    assert (code == 0) == bool(addresses), out
    return addresses


def run(manager: ContainerManager, name: str, network: str = "bridge", cmd: tuple[str, ...] = SLEEP,
        **kwargs: object) -> str:
    c = manager.run(ContainerSpec("busybox", name=name, cmd=cmd, network_mode=network,
                                  **kwargs))  # type: ignore[arg-type]
    return c.id


def ip_on(manager: ContainerManager, ref: str, network: str) -> str:
    address = manager.inspect(ref)["NetworkSettings"]["Networks"][network]["IPAddress"]
    assert isinstance(address, str) and address
    return address


def test_name_alias_hostname_and_short_id(manager: ContainerManager, engine: Engine,
                                          resolver: Resolver) -> None:
    engine.create_network("app")
    web = run(manager, "web", "app", HTTPD, hostname="webhost", aliases=("www",))
    run(manager, "client", "app")
    ip = ip_on(manager, web, "app")
    for name in ("web", "www", "webhost", web[:12], "WEB", "web.app"):
        assert nslookup(manager, "client", name) == [ip], name
    code, out = sh(manager, "client", "ping", "-c1", "-W2", "web")
    assert code == 0 and f"64 bytes from {ip}" in out, out
    wait_for(lambda: sh(manager, "web", "netstat", "-ltn")[1].count(":80 ") > 0, what="httpd")
    code, out = sh(manager, "client", "timeout", "5", "wget", "-q", "-O", "-", "http://www/")
    assert (code, out) == (0, "hello from webhost\n")
    _, conf = sh(manager, "client", "cat", "/etc/resolv.conf")
    assert "nameserver 127.0.0.11\noptions ndots:0\n" in conf
    assert "# ExtServers: [host(127.0.0.1)]" in conf
    assert resolver.stub.queries == 0  # every name so far answered locally


def test_shared_alias_returns_every_replica_and_rotates(manager: ContainerManager,
                                                        engine: Engine,
                                                        resolver: Resolver) -> None:
    engine.create_network("n")
    replicas = [run(manager, f"replica{i}", "n", aliases=("svc",)) for i in range(3)]
    ips = sorted(ip_on(manager, r, "n") for r in replicas)
    run(manager, "client", "n")
    firsts = []
    for _ in range(6):
        answer = nslookup(manager, "client", "svc")
        assert sorted(answer) == ips
        firsts.append(answer[0])
    assert len(set(firsts)) > 1, firsts


def test_names_only_on_shared_networks(manager: ContainerManager, engine: Engine,
                                       resolver: Resolver) -> None:
    engine.create_network("front")
    engine.create_network("back")
    alpha = run(manager, "alpha", "front")
    bravo = run(manager, "bravo", "back")
    run(manager, "both", "front")
    manager.connect("both", "back")
    before = resolver.stub.queries
    # only on another network: not ours to answer, so it goes upstream (NXDOMAIN there)
    assert nslookup(manager, "alpha", "bravo") == []
    assert resolver.stub.queries > before
    assert nslookup(manager, "both", "alpha") == [ip_on(manager, alpha, "front")]
    assert nslookup(manager, "both", "bravo") == [ip_on(manager, bravo, "back")]
    assert nslookup(manager, "bravo", "both") == [ip_on(manager, "both", "back")]


def test_connect_adds_the_name_and_disconnect_removes_it_at_once(
        manager: ContainerManager, engine: Engine, resolver: Resolver) -> None:
    engine.create_network("n")
    engine.create_network("elsewhere")
    run(manager, "client", "n")
    late = run(manager, "late", "elsewhere")
    assert nslookup(manager, "client", "late") == []
    manager.connect("late", "n", aliases=("tardy",))
    ip = ip_on(manager, late, "n")
    assert nslookup(manager, "client", "late") == [ip]
    assert nslookup(manager, "client", "tardy") == [ip]
    manager.disconnect("late", "n")
    assert nslookup(manager, "client", "late") == []
    assert nslookup(manager, "client", "tardy") == []
    manager.stop("client", timeout=1)  # a stopped container has no resolver left
    assert manager.get("client").id not in resolver.dns.server.sandboxes


def test_ptr_names_the_container_on_its_network(manager: ContainerManager, engine: Engine,
                                                resolver: Resolver) -> None:
    engine.create_network("app")
    web = run(manager, "web", "app")
    run(manager, "client", "app")
    code, out = sh(manager, "client", "nslookup", ip_on(manager, web, "app"))
    reverse = ".".join(reversed(ip_on(manager, web, "app").split("."))) + ".in-addr.arpa"
    assert code == 0 and f"{reverse}\tname = web.app" in out, out


def test_default_bridge_has_no_resolver_but_links_resolve(manager: ContainerManager,
                                                          engine: Engine,
                                                          resolver: Resolver) -> None:
    target = run(manager, "target")
    linked = run(manager, "linked", links=("target:tgt",))
    for ref in (target, linked):
        assert ref not in resolver.dns.server.sandboxes
    _, conf = sh(manager, "linked", "cat", "/etc/resolv.conf")
    assert "127.0.0.11" not in conf and "nameserver 127.0.0.1\n" not in conf
    _, hosts = sh(manager, "linked", "cat", "/etc/hosts")
    ip = ip_on(manager, target, "bridge")
    assert any(line.split()[:1] == [ip] and "tgt" in line.split() for line in hosts.splitlines())
    # A linked name is found in /etc/hosts before any nameserver is asked (the ones in
    # this file are not reachable from the throw-away host, and are never tried).
    code, out = sh(manager, "linked", "ping", "-c1", "-W2", "tgt")
    assert code == 0 and f"64 bytes from {ip}" in out, out
    _, hosts = sh(manager, "target", "cat", "/etc/hosts")
    assert "linked" not in hosts and "tgt" not in hosts


def test_forwarding_to_the_hosts_loopback_resolver(manager: ContainerManager, engine: Engine,
                                                   resolver: Resolver) -> None:
    engine.create_network("app")
    client = run(manager, "client", "app")
    _, conf = sh(manager, "client", "cat", "/etc/resolv.conf")
    assert "# ExtServers: [host(127.0.0.1)]" in conf
    assert nslookup(manager, "client", "ext.example") == [EXT_ADDRESS]
    code, out = sh(manager, "client", "nslookup", "missing.example")
    assert code == 1 and "server can't find missing.example: NXDOMAIN" in out, out
    # too big for UDP: the stub truncates, the resolver asks again over TCP ...
    tcp_before = resolver.stub.tcp_queries
    sh(manager, "client", "nslookup", "-type=txt", "big.example")
    assert resolver.stub.tcp_queries == tcp_before + 1
    # ... and a client asking over TCP (busybox nc, a hand-made query) gets all of it
    query = dns.message.make_query("big.example", "TXT", id=7).to_wire()
    framed = len(query).to_bytes(2, "big") + query
    escaped = "".join(f"\\{b:03o}" for b in framed)
    code, out = sh(manager, "client", "sh", "-c",
                   f"printf '{escaped}' | nc -w 3 127.0.0.11 53 | strings | grep -c record-")
    assert out.strip() == str(BIG_RECORDS), out
    # the same from the host's dig, in the container's network namespace
    netns = engine.sandbox(client).netns
    assert netns
    dig = run_in(netns, ["dig", "@127.0.0.11", "+tcp", "+short", "+time=2", "+tries=1",
                         "big.example", "TXT"])
    assert len(dig.stdout.split("\n")) - 1 == BIG_RECORDS, dig.stdout


def test_container_dns_servers_are_asked_from_the_container(manager: ContainerManager,
                                                            engine: Engine,
                                                            resolver: Resolver) -> None:
    engine.create_network("app")
    own = run(manager, "own", "app", dns=("127.0.0.1",), dns_search=("corp.example",))
    _, conf = sh(manager, "own", "cat", "/etc/resolv.conf")
    assert "nameserver 127.0.0.11\nsearch corp.example\noptions ndots:0\n" in conf
    assert "# ExtServers: [127.0.0.1]" in conf  # no host(): the container's own 127.0.0.1
    assert "# Overrides: [nameservers search]" in conf
    netns = engine.sandbox(own).netns
    assert netns
    with loop_in(netns) as inside:
        own_stub = StubUpstream("127.0.0.1", 53)  # the container's loopback, not the host's
        inside.run(own_stub.start())
        try:
            assert nslookup(manager, "own", "ext.example") == [EXT_ADDRESS]
            assert sh(manager, "own", "nslookup", "-type=txt", "big.example")[0] == 0
            assert own_stub.tcp_queries == 1  # TCP fallback from the container too
        finally:
            inside.run(own_stub.stop())
    assert own_stub.queries >= 3 and resolver.stub.queries == 0
    run(manager, "plain", "app")
    assert nslookup(manager, "plain", "ext.example") == [EXT_ADDRESS]
    assert resolver.stub.queries > 0


def test_fuzzed_packets_then_real_lookups(manager: ContainerManager, engine: Engine,
                                          resolver: Resolver, host_loop: NetnsLoop) -> None:
    engine.create_network("app")
    web = run(manager, "web", "app")
    client = run(manager, "client", "app")
    netns = engine.sandbox(client).netns
    assert netns
    rng = random.Random(11)
    seeds = [dns.message.make_query(n, t, use_edns=e).to_wire()
             for n in ("web", "ext.example", "missing.example", "x" * 60)
             for t in ("A", "AAAA", "PTR", "TXT", "ANY") for e in (-1, 0)]
    udp = open_socket_in_netns(netns, socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", 0))
    sent = 0
    try:
        udp.setblocking(True)
        for i in range(4000):
            if i % 3 == 0:
                data = rng.randbytes(rng.choice((0, 1, 2, 11, 12, 13, 300, 1500, 9000)))
            else:
                mutated = bytearray(rng.choice(seeds))
                for _ in range(rng.randrange(1, 6)):
                    mutated[rng.randrange(len(mutated))] = rng.randrange(256)
                data = bytes(mutated[: rng.randrange(1, len(mutated) + 1)])
            udp.sendto(data, ("127.0.0.11", 53))
            sent += 1
    finally:
        udp.close()
    tcp = open_socket_in_netns(netns, socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 0))
    try:
        tcp.setblocking(True)
        tcp.connect(("127.0.0.11", 53))
        tcp.sendall(b"\x00\x05abc")  # a short frame, then hang up mid-query
    finally:
        tcp.close()
    assert sent == 4000
    assert nslookup(manager, "client", "web") == [ip_on(manager, web, "app")]
    assert nslookup(manager, "client", "ext.example") == [EXT_ADDRESS]
    assert host_loop.run(asyncio.sleep(0, result=True))  # the event loop is not stuck
