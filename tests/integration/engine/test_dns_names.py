"""Service discovery on real namespaces: the engine's state served at 127.0.0.11."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from dockyard.dns.binding import DnsBinding, dns_view
from dockyard.dns.server import DnsServer
from dockyard.engine import Engine
from tests.integration.hosts import run_in

pytestmark = pytest.mark.root


@pytest.fixture
def dns(engine: Engine) -> Iterator[DnsServer]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = DnsServer(timeout=0.5)
    binding = DnsBinding(server, loop)
    engine.subscribe(binding.on_change)
    binding.apply(dns_view(engine.state()))
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


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
