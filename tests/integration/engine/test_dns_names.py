"""Service discovery on real namespaces: the engine's state served at 127.0.0.11."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from dockyard.dns.binding import DnsBinding, dns_view
from dockyard.dns.server import DnsServer
from dockyard.engine import Engine
from tests.integration.hosts import run_in, wait_for

pytestmark = pytest.mark.root


@pytest.fixture
def dns_and_loop(engine: Engine) -> Iterator[tuple[DnsServer, asyncio.AbstractEventLoop]]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = DnsServer(timeout=0.5)
    binding = DnsBinding(server, loop)
    engine.subscribe(binding.on_change)
    binding.apply(dns_view(engine.state()))
    try:
        yield server, loop
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


@pytest.fixture
def dns(dns_and_loop: tuple[DnsServer, asyncio.AbstractEventLoop]) -> DnsServer:
    return dns_and_loop[0]


def dig(netns: str, name: str, qtype: str = "A") -> list[str]:
    # -q/-t: a bare "a" would be read as the query type A, not a name.
    out = run_in(netns, ["dig", "@127.0.0.11", "+short", "+time=1", "+tries=1", "-q", name,
                         "-t", qtype])
    return [line for line in out.stdout.splitlines() if line and not line.startswith(";")]


def test_names_aliases_short_id_and_hostname(engine: Engine, dns: DnsServer) -> None:
    engine.create_network("app")
    web = engine.create_sandbox("web", hostname="webhost")
    client = engine.create_sandbox("client")
    ip = engine.connect("app", "web", aliases=["frontend"]).ipv4_address
    engine.connect("app", "client")
    for name in ("web", "WEB", "frontend", web.id[:12], "webhost", "web.app"):
        assert dig(client.netns, name) == [ip], name
    ptr = run_in(client.netns, ["dig", "@127.0.0.11", "+short", "-x", str(ip)]).stdout.split()
    assert ptr == ["web.app."]


def test_names_are_scoped_to_shared_networks(engine: Engine, dns: DnsServer) -> None:
    engine.create_network("front")
    engine.create_network("back")
    a = engine.create_sandbox("a")
    engine.create_sandbox("b")
    both = engine.create_sandbox("both")
    a_ip = engine.connect("front", "a").ipv4_address
    b_ip = engine.connect("back", "b").ipv4_address
    engine.connect("front", "both")
    engine.connect("back", "both")
    assert dig(a.netns, "b") == []  # only on another network: not ours to answer
    assert dig(both.netns, "a") == [a_ip]
    assert dig(both.netns, "b") == [b_ip]


def test_connect_and_disconnect_change_answers_at_once(engine: Engine, dns: DnsServer) -> None:
    engine.create_network("n")
    client = engine.create_sandbox("client")
    engine.create_sandbox("late")
    engine.connect("n", "client")
    assert dig(client.netns, "late") == []
    ip = engine.connect("n", "late").ipv4_address
    assert dig(client.netns, "late") == [ip]
    engine.disconnect("n", "late")
    assert dig(client.netns, "late") == []


def test_shared_alias_returns_all_and_rotates(engine: Engine, dns: DnsServer) -> None:
    engine.create_network("n")
    client = engine.create_sandbox("client")
    engine.connect("n", "client")
    ips = []
    for i in range(3):
        engine.create_sandbox(f"replica{i}")
        ips.append(engine.connect("n", f"replica{i}", aliases=["svc"]).ipv4_address)
    firsts = set()
    for _ in range(6):
        answer = dig(client.netns, "svc")
        assert sorted(answer) == sorted(ips)
        firsts.add(answer[0])
    assert len(firsts) > 1


def test_default_bridge_has_no_resolver(engine: Engine, dns: DnsServer) -> None:
    box = engine.create_sandbox("legacy")
    engine.connect("bridge", "legacy")
    assert box.id not in dns.sandboxes


def test_connect_does_not_wait_for_a_busy_resolver_loop(
        engine: Engine, dns_and_loop: tuple[DnsServer, asyncio.AbstractEventLoop]) -> None:
    _server, loop = dns_and_loop
    engine.create_network("n")
    engine.create_sandbox("client")
    client_ip = engine.connect("n", "client").ipv4_address
    busy = threading.Event()
    loop.call_soon_threadsafe(busy.wait, 30)  # the resolver's loop is stuck until set
    try:
        started = time.monotonic()
        other = engine.create_sandbox("other")
        engine.connect("n", "other")
        assert time.monotonic() - started < 5  # it did not wait for the loop
        # The resolver's address in the new sandbox is bound already: a query waits in
        # its socket (not refused), and is answered once the loop is free.
        query = subprocess.Popen(
            ["nsenter", f"--net={other.netns}", "dig", "@127.0.0.11", "+short", "+time=8",
             "+tries=1", "-q", "client"], stdout=subprocess.PIPE, text=True)
        wait_for(lambda: _queued_on_port_53(other.netns), what="the query in the socket")
    finally:
        busy.set()
    out, _ = query.communicate(timeout=15)
    assert out.split() == [client_ip]


def _queued_on_port_53(netns: str) -> bool:
    lines = run_in(netns, ["ss", "-Hnu", "state", "unconnected", "src", "127.0.0.11:53"]
                   ).stdout.split("\n")
    return any(int(line.split()[0]) > 0 for line in lines if line.strip())  # Recv-Q
