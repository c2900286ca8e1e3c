"""The resolver serving real namespaces, queried with dig from inside them."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from ipaddress import IPv4Address

import dns.message
import dns.rcode
import pytest
from stub_upstream import BIG_RECORDS, EXT_ADDRESS, StubUpstream

from conftest import needs_root
from dockyard.dns.records import DnsEndpoint, Records, build_records
from dockyard.dns.server import DnsServer
from dockyard.kernel.netns_socket import open_socket_in_netns

pytestmark = [pytest.mark.root, needs_root]


def ep(net: str, sandbox: str, ip: str, *names: str) -> DnsEndpoint:
    return DnsEndpoint(net, f"{net}name", sandbox, names, IPv4Address(ip))


def three_sandboxes() -> Records:
    # a on net1; b on net1 and net2; c on net2; a, b and c share the alias "svc" on net1/net2
    return build_records(
        [
            ep("net1", "a", "10.1.0.2", "alpha", "svc"),
            ep("net1", "b", "10.1.0.3", "bravo", "svc"),
            ep("net2", "b", "10.2.0.3", "bravo"),
            ep("net2", "c", "10.2.0.4", "charlie"),
        ]
    )


async def dig(ns: str, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "ip",
        "netns",
        "exec",
        ns,
        "dig",
        "@127.0.0.11",
        "+tries=1",
        "+time=3",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def short(ns: str, *args: str) -> list[str]:
    code, out = await dig(ns, "+short", *args)
    assert code == 0, out
    return out.split()


async def status(ns: str, *args: str) -> str:
    _, out = await dig(ns, *args)
    for line in out.splitlines():
        if "status:" in line:
            return line.split("status:")[1].split(",")[0].strip()
    raise AssertionError(out)


Scenario = Callable[[DnsServer, dict[str, str], StubUpstream], Awaitable[None]]


def run(make_netns: Callable[[], str], scenario: Scenario, timeout: float = 1.0) -> None:
    async def main() -> None:
        stub = StubUpstream()
        await stub.start()
        server = DnsServer(default_upstreams=[stub.address], timeout=timeout)
        server.set_records(three_sandboxes())
        names = {sb: make_netns() for sb in ("a", "b", "c")}
        try:
            for sb, ns in names.items():
                await server.add_sandbox(sb, f"/run/netns/{ns}")
            await scenario(server, names, stub)
        finally:
            await server.close()
            await stub.stop()

    asyncio.run(main())


def test_names_are_scoped_to_shared_networks(make_netns: Callable[[], str]) -> None:
    async def scenario(server: DnsServer, ns: dict[str, str], stub: StubUpstream) -> None:
        assert await short(ns["a"], "bravo") == ["10.1.0.3"]
        assert await short(ns["b"], "charlie") == ["10.2.0.4"]
        assert await short(ns["b"], "ALPHA.net1name") == ["10.1.0.2"]
        # charlie is only on net2: from a the name is not ours, the stub says NXDOMAIN
        before = stub.queries
        assert await status(ns["a"], "charlie") == "NXDOMAIN"
        assert stub.queries == before + 1
        assert await short(ns["a"], "-x", "10.1.0.3") == ["bravo.net1name."]

    run(make_netns, scenario)


def test_shared_alias_returns_all_and_rotates(make_netns: Callable[[], str]) -> None:
    async def scenario(server: DnsServer, ns: dict[str, str], stub: StubUpstream) -> None:
        firsts = []
        for _ in range(4):
            got = await short(ns["a"], "svc")
            assert sorted(got) == ["10.1.0.2", "10.1.0.3"]
            firsts.append(got[0])
        assert len(set(firsts)) == 2

    run(make_netns, scenario)


def test_records_swap_live_and_sandbox_removal(make_netns: Callable[[], str]) -> None:
    async def scenario(server: DnsServer, ns: dict[str, str], stub: StubUpstream) -> None:
        assert await status(ns["a"], "delta") == "NXDOMAIN"
        server.set_records(build_records([*_endpoints(), ep("net1", "d", "10.1.0.9", "delta")]))
        assert await short(ns["a"], "delta") == ["10.1.0.9"]
        server.set_records(build_records(_endpoints()))  # "disconnect" d
        assert await status(ns["a"], "delta") == "NXDOMAIN"
        await server.remove_sandbox("a")
        code, out = await dig(ns["a"], "+time=1", "bravo")
        assert code != 0, out
        assert await short(ns["b"], "alpha") == ["10.1.0.2"]

    run(make_netns, scenario)


def _endpoints() -> list[DnsEndpoint]:
    return [
        ep("net1", "a", "10.1.0.2", "alpha", "svc"),
        ep("net1", "b", "10.1.0.3", "bravo", "svc"),
        ep("net2", "b", "10.2.0.3", "bravo"),
        ep("net2", "c", "10.2.0.4", "charlie"),
    ]


def test_forwarding_passes_answers_through(make_netns: Callable[[], str]) -> None:
    async def scenario(server: DnsServer, ns: dict[str, str], stub: StubUpstream) -> None:
        assert await short(ns["a"], "ext.example") == [EXT_ADDRESS]
        assert await status(ns["a"], "missing.example") == "NXDOMAIN"
        assert await status(ns["a"], "fail.example") == "SERVFAIL"
        assert await status(ns["a"], "refused.example") == "REFUSED"
        # too big for UDP: the stub truncates, we retry it over TCP, the client over TCP too
        txt = await short(ns["a"], "big.example", "TXT")
        assert len(txt) == BIG_RECORDS
        # and over TCP from the client straight away
        assert await short(ns["a"], "+tcp", "ext.example") == [EXT_ADDRESS]
        assert await short(ns["a"], "+tcp", "alpha") == ["10.1.0.2"]

    run(make_netns, scenario)


def test_next_upstream_is_tried_when_one_is_dead(make_netns: Callable[[], str]) -> None:
    async def scenario(server: DnsServer, ns: dict[str, str], stub: StubUpstream) -> None:
        # one server that never answers (a bound, unread socket) and one refusing port
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
        closed.close()
        try:
            server.set_default_upstreams(
                [f"127.0.0.1:{silent.getsockname()[1]}", f"127.0.0.1:{closed_port}", stub.address],
            )
            started = time.monotonic()
            assert await short(ns["a"], "ext.example") == [EXT_ADDRESS]
            assert time.monotonic() - started < 2.5  # one 0.5 s timeout, then a fast refusal
            server.set_default_upstreams([f"127.0.0.1:{closed_port}"])
            assert await status(ns["a"], "ext.example") == "SERVFAIL"
        finally:
            silent.close()

    run(make_netns, scenario, timeout=0.5)


def test_internal_network_does_not_forward(make_netns: Callable[[], str]) -> None:
    async def scenario(server: DnsServer, ns: dict[str, str], stub: StubUpstream) -> None:
        server.set_records(build_records(_endpoints(), frozenset({"net1"})))
        before = stub.queries
        assert await status(ns["a"], "ext.example") == "SERVFAIL"
        assert stub.queries == before
        assert await short(ns["a"], "bravo") == ["10.1.0.3"]
        assert await short(ns["b"], "ext.example") == [EXT_ADDRESS]  # b also has net2

    run(make_netns, scenario)


def test_fuzz_then_normal_queries_still_answered(make_netns: Callable[[], str]) -> None:
    async def scenario(server: DnsServer, ns: dict[str, str], stub: StubUpstream) -> None:
        rng = random.Random(5)
        seeds = [
            dns.message.make_query(n, t, use_edns=e).to_wire()
            for n in ("alpha", "svc", "ext.example", "nothing.invalid")
            for t in ("A", "AAAA", "PTR", "TXT")
            for e in (-1, 0)
        ]
        client = open_socket_in_netns(
            f"/run/netns/{ns['a']}", socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", 0)
        )
        try:
            for i in range(5000):
                if i % 3 == 0:
                    data = rng.randbytes(rng.choice((0, 1, 5, 11, 12, 40, 600, 4000)))
                else:
                    mutated = bytearray(rng.choice(seeds))
                    for _ in range(rng.randrange(1, 5)):
                        mutated[rng.randrange(len(mutated))] = rng.randrange(256)
                    data = bytes(mutated[: rng.randrange(1, len(mutated) + 1)])
                try:
                    client.sendto(data, ("127.0.0.11", 53))
                except BlockingIOError:
                    await asyncio.sleep(0)
                if i % 200 == 0:
                    await asyncio.sleep(0)  # let the server drain
        finally:
            client.close()
        # garbage over TCP too: a bogus length, then hang up
        _reader, writer = await _tcp_in(ns["a"])
        writer.write(b"\xff\xff" + rng.randbytes(100))
        await writer.drain()
        writer.close()
        started = time.monotonic()
        assert await short(ns["a"], "alpha") == ["10.1.0.2"]
        assert await short(ns["a"], "+tcp", "bravo") == ["10.1.0.3"]
        assert await short(ns["a"], "ext.example") == [EXT_ADDRESS]
        assert time.monotonic() - started < 3.0

    run(make_netns, scenario)


async def _tcp_in(ns: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    sock = open_socket_in_netns(
        f"/run/netns/{ns}", socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 0)
    )
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.11", 53))
    return await asyncio.open_connection(sock=sock)


def test_udp_query_from_python_client(make_netns: Callable[[], str]) -> None:
    """The same answer dnspython sees, with EDNS, id echoed."""

    async def scenario(server: DnsServer, ns: dict[str, str], stub: StubUpstream) -> None:
        sock = open_socket_in_netns(
            f"/run/netns/{ns['c']}", socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", 0)
        )
        loop = asyncio.get_running_loop()
        try:
            query = dns.message.make_query("bravo", "A", use_edns=0, payload=1232)
            await loop.sock_sendto(sock, query.to_wire(), ("127.0.0.11", 53))
            reply = dns.message.from_wire(await asyncio.wait_for(loop.sock_recv(sock, 4096), 3))
        finally:
            sock.close()
        assert reply.id == query.id and reply.rcode() == dns.rcode.NOERROR
        assert reply.edns == 0
        assert [rd.address for rd in reply.answer[0]] == ["10.2.0.3"]

    run(make_netns, scenario)


def _blocking_query(ns: str, name: str) -> dns.message.Message:
    """Ask and wait synchronously: called on the event loop, it blocks the loop."""
    sock = open_socket_in_netns(
        f"/run/netns/{ns}", socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", 0)
    )
    try:
        sock.settimeout(3)
        query = dns.message.make_query(name, "A")
        sock.sendto(query.to_wire(), ("127.0.0.11", 53))
        reply = dns.message.from_wire(sock.recv(4096))
    finally:
        sock.close()
    assert reply.id == query.id
    return reply


def test_local_names_are_answered_while_the_event_loop_is_busy(
    make_netns: Callable[[], str],
) -> None:
    """UDP answers for local names do not wait for the daemon's event loop."""

    async def scenario(server: DnsServer, ns: dict[str, str], stub: StubUpstream) -> None:
        for _ in range(20):
            reply = _blocking_query(ns["a"], "bravo")  # the loop is stuck in this call
            assert [rd.address for rd in reply.answer[0]] == ["10.1.0.3"]

    run(make_netns, scenario)


def test_sandbox_re_added_is_served_and_close_ends_the_udp_thread(
    make_netns: Callable[[], str],
) -> None:
    def dns_threads() -> list[str]:
        return [t.name for t in threading.enumerate() if t.name.startswith("dockyard-dns")]

    async def main() -> None:
        server = DnsServer()
        server.set_records(three_sandboxes())
        ns = make_netns()
        assert dns_threads() == []  # nothing runs before the first sandbox
        try:
            for _ in range(3):
                await server.add_sandbox("a", f"/run/netns/{ns}")
                assert await short(ns, "bravo") == ["10.1.0.3"]
                await server.remove_sandbox("a")
                code, out = await dig(ns, "+time=1", "bravo")
                assert code != 0, out
            await server.add_sandbox("a", f"/run/netns/{ns}")
            assert await short(ns, "alpha") == ["10.1.0.2"]
            assert len(dns_threads()) == 1
        finally:
            await server.close()
        assert dns_threads() == []
        assert server.sandboxes == frozenset()

    asyncio.run(main())


def test_many_queries_in_flight_are_all_answered(make_netns: Callable[[], str]) -> None:
    """A burst far bigger than one batch, local and forwarded mixed: none is lost."""

    async def scenario(server: DnsServer, ns: dict[str, str], stub: StubUpstream) -> None:
        sock = open_socket_in_netns(
            f"/run/netns/{ns['a']}", socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", 0)
        )
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        loop = asyncio.get_running_loop()
        expected: dict[int, str] = {}
        try:
            for i in range(300):
                name = "ext.example" if i % 10 == 0 else "bravo"
                query = dns.message.make_query(name, "A")
                query.id = i
                expected[i] = EXT_ADDRESS if i % 10 == 0 else "10.1.0.3"
                await loop.sock_sendto(sock, query.to_wire(), ("127.0.0.11", 53))
            got: dict[int, str] = {}
            try:
                async with asyncio.timeout(5):
                    while len(got) < len(expected):
                        reply = dns.message.from_wire(await loop.sock_recv(sock, 4096))
                        got[reply.id] = reply.answer[0][0].address
            except TimeoutError:
                pass
        finally:
            sock.close()
        missing = sorted(set(expected) - set(got))
        assert got == expected, f"missing {len(missing)}: {missing[:20]}"

    run(make_netns, scenario)
