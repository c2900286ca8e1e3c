"""The embedded resolver: one asyncio loop serving 127.0.0.11:53 in every sandbox.

Each sandbox costs one UDP and one TCP listening socket, opened inside its namespace
(see :mod:`dockyard.kernel.netns_socket`) and served by the one loop: no thread or
process per sandbox. Records come in as an immutable :class:`Records` value and are
compiled to wire tables; :meth:`DnsServer.set_records` swaps both in one assignment.

UDP hot path: one thread (:class:`~dockyard.dns.udp_pump.UdpPump`, started with the
first sandbox) waits on every sandbox's UDP socket at once, answers local names from the
precomputed tables and only hands a query to the event loop when it must go upstream.
The loop keeps everything else: TCP, forwarding, configuration. The API is the same
asyncio API either way; the thread is an implementation detail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

from dockyard.dns.records import Records
from dockyard.dns.udp_pump import UdpPump
from dockyard.dns.upstream import BadReply, Upstream, exchange, parse_upstream
from dockyard.dns.wire import (
    RCODE_REFUSED,
    RCODE_SERVFAIL,
    EntryCache,
    WireTables,
    compile_records,
    error_reply,
    query_info,
    rcode_of,
    respond,
    truncate_reply,
)
from dockyard.errors import Conflict, KernelError, NotFound
from dockyard.kernel.netns_socket import open_socket_in_netns

log = logging.getLogger("dockyard.dns")

RESOLVER_ADDRESS = "127.0.0.11"
DNS_PORT = 53
#: Docker waits 4 s per upstream; tests and the daemon may choose less.
DEFAULT_TIMEOUT = 4.0
#: Like Docker, at most this many forwarded queries in flight per sandbox; beyond it the
#: client gets REFUSED at once rather than queueing forever.
MAX_INFLIGHT = 1024
_TCP_IDLE = 10.0


@dataclass(eq=False)
class _Sandbox:
    sandbox_id: str
    netns: str
    udp: socket.socket
    tcp_server: asyncio.Server
    inflight: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    writers: set[asyncio.StreamWriter] = field(default_factory=set)


class DnsServer:
    """Serves every sandbox's embedded resolver from the running event loop."""

    def __init__(
        self,
        *,
        default_upstreams: Iterable[str] = (),
        timeout: float = DEFAULT_TIMEOUT,
        bind: tuple[str, int] = (RESOLVER_ADDRESS, DNS_PORT),
    ) -> None:
        self._bind = bind
        self._timeout = timeout
        self._default: tuple[Upstream, ...] = tuple(parse_upstream(u) for u in default_upstreams)
        self._upstreams: dict[str, tuple[Upstream, ...]] = {}
        self._sandboxes: dict[str, _Sandbox] = {}
        self._records = Records()
        self._entry_cache = EntryCache()
        self._tables: WireTables = compile_records(self._records, self._entry_cache)
        self._pump: UdpPump[_Sandbox] = UdpPump(self._answer_udp, self._start_forward)

    # -- configuration -----------------------------------------------------------------

    @property
    def records(self) -> Records:
        return self._records

    def set_records(self, records: Records) -> None:
        """Swap in a new table; queries after this call see only the new records."""
        tables = compile_records(records, self._entry_cache)
        self._records, self._tables = records, tables

    def set_default_upstreams(self, servers: Iterable[str]) -> None:
        self._default = tuple(parse_upstream(s) for s in servers)

    def set_upstreams(self, sandbox_id: str, servers: Iterable[str] | None) -> None:
        """Per-sandbox servers (``--dns``), asked from the sandbox's own namespace; None
        returns the sandbox to the defaults (asked from this process's namespace)."""
        if servers is None:
            self._upstreams.pop(sandbox_id, None)
        else:
            self._upstreams[sandbox_id] = tuple(parse_upstream(s) for s in servers)

    def upstreams_for(self, sandbox_id: str) -> tuple[Upstream, ...]:
        return self._upstreams.get(sandbox_id, self._default)

    @property
    def sandboxes(self) -> frozenset[str]:
        return frozenset(self._sandboxes)

    # -- sandboxes ---------------------------------------------------------------------

    def open_sockets(self, netns_path: str) -> tuple[socket.socket, socket.socket]:
        """Bind the resolver's UDP and TCP sockets inside ``netns_path``, from any thread.

        Once bound, queries wait in the sockets until :meth:`add_sandbox` serves them, so
        a caller can make the address answerable before the loop gets to it."""
        udp = open_socket_in_netns(netns_path, socket.AF_INET, socket.SOCK_DGRAM, self._bind)
        try:
            _grow_receive_buffer(udp)
            tcp = open_socket_in_netns(netns_path, socket.AF_INET, socket.SOCK_STREAM,
                                       self._bind)
        except BaseException:
            udp.close()
            raise
        try:
            tcp.listen(128)
        except BaseException:
            udp.close()
            tcp.close()
            raise
        return udp, tcp

    async def add_sandbox(self, sandbox_id: str, netns_path: str,
                          sockets: tuple[socket.socket, socket.socket] | None = None) -> None:
        """Listen on 127.0.0.11:53 (UDP and TCP) inside ``netns_path``, on ``sockets``
        when :meth:`open_sockets` already made them (they are closed on failure)."""
        if sandbox_id in self._sandboxes:
            if sockets is not None:
                for sock in sockets:
                    sock.close()
            raise Conflict(f'sandbox "{sandbox_id}" already has a DNS resolver')
        if sockets is None:
            sockets = await asyncio.to_thread(self.open_sockets, netns_path)
        udp, tcp = sockets
        try:
            state: _Sandbox | None = None

            async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                assert state is not None
                await self._serve_tcp(state, reader, writer)

            server = await asyncio.start_server(on_client, sock=tcp)
        except BaseException:
            udp.close()
            tcp.close()
            raise
        state = _Sandbox(sandbox_id, netns_path, udp, server)
        self._sandboxes[sandbox_id] = state
        self._pump.add(state, udp)
        log.debug("dns: serving sandbox %s in %s", sandbox_id, netns_path)

    async def remove_sandbox(self, sandbox_id: str) -> None:
        state = self._sandboxes.pop(sandbox_id, None)
        if state is None:
            raise NotFound(f'sandbox "{sandbox_id}" has no DNS resolver')
        self._upstreams.pop(sandbox_id, None)
        await self._close_sandbox(state)

    async def close(self) -> None:
        """Stop serving every sandbox."""
        states = list(self._sandboxes.values())
        self._sandboxes.clear()
        for state in states:
            await self._close_sandbox(state)
        await self._pump.stop()

    async def _close_sandbox(self, state: _Sandbox) -> None:
        await self._pump.remove(state.udp)  # the pump lets go before the socket closes
        state.udp.close()
        state.tcp_server.close()
        for writer in list(state.writers):
            writer.close()
        for task in list(state.tasks):
            task.cancel()
        if state.tasks:
            await asyncio.gather(*state.tasks, return_exceptions=True)
        await state.tcp_server.wait_closed()

    # -- UDP ---------------------------------------------------------------------------

    def _answer_udp(self, state: _Sandbox, query: bytes) -> bytes | None:
        """Runs on the pump thread: reads only the current (immutable) tables."""
        return respond(self._tables.by_sandbox.get(state.sandbox_id), query)

    def _start_forward(self, state: _Sandbox, query: bytes, addr: tuple[str, int]) -> None:
        if self._sandboxes.get(state.sandbox_id) is not state:
            return  # removed while the query was on its way from the pump thread
        if state.inflight >= MAX_INFLIGHT:
            with contextlib.suppress(OSError):
                state.udp.sendto(error_reply(query, RCODE_REFUSED), addr)
            return
        state.inflight += 1
        task = asyncio.get_running_loop().create_task(self._forward_udp(state, query, addr))
        state.tasks.add(task)
        task.add_done_callback(state.tasks.discard)

    async def _forward_udp(self, state: _Sandbox, query: bytes, addr: tuple[str, int]) -> None:
        try:
            info = query_info(query)
            if info is None:
                return
            reply = await self._forward(state.sandbox_id, query, tcp=False)
            with contextlib.suppress(OSError):
                state.udp.sendto(truncate_reply(reply, info), addr)
        finally:
            state.inflight -= 1

    # -- TCP ---------------------------------------------------------------------------

    async def _serve_tcp(
        self, state: _Sandbox, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        state.writers.add(writer)
        try:
            while True:
                async with asyncio.timeout(_TCP_IDLE):
                    length = int.from_bytes(await reader.readexactly(2), "big")
                    query = await reader.readexactly(length)
                reply = respond(self._tables.get(state.sandbox_id), query, tcp=True)
                if reply is None:
                    continue
                if not reply:
                    reply = await self._forward(state.sandbox_id, query, tcp=True)
                writer.write(len(reply).to_bytes(2, "big") + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        except Exception:
            log.exception("dns: TCP client in sandbox %s", state.sandbox_id)
        finally:
            state.writers.discard(writer)
            writer.close()

    # -- forwarding --------------------------------------------------------------------

    async def _forward(self, sandbox_id: str, query: bytes, *, tcp: bool) -> bytes:
        """Ask each upstream in turn; first usable answer wins.

        NXDOMAIN and NOERROR are final. SERVFAIL and REFUSED may be one server's
        trouble, so the next server is tried (as Docker does); if every server said
        so, the last such answer is passed through unchanged. No answer at all: SERVFAIL.
        """
        info = query_info(query)
        if info is None:
            return error_reply(query, RCODE_SERVFAIL)
        last: bytes | None = None
        own = self._upstreams.get(sandbox_id)
        state = self._sandboxes.get(sandbox_id)
        netns = state.netns if own is not None and state is not None else None
        for upstream in own if own is not None else self._default:
            try:
                reply = await exchange(upstream, query, info, tcp, self._timeout, netns)
            except (OSError, TimeoutError, BadReply, asyncio.IncompleteReadError,
                    KernelError) as exc:
                log.debug("dns: upstream %s failed: %r", upstream, exc)
                continue
            if rcode_of(reply) in (RCODE_SERVFAIL, RCODE_REFUSED):
                last = reply
                continue
            return reply
        return last if last is not None else error_reply(query, RCODE_SERVFAIL, info.qend)


# A burst of queries lands while the pump thread is busy: the default receive buffer
# (~212 KiB) holds only ~256 small datagrams, so a larger one keeps bursts from being lost.
UDP_RECEIVE_BUFFER = 4 << 20
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)


def _grow_receive_buffer(sock: socket.socket) -> None:
    try:  # root may exceed net.core.rmem_max
        sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, UDP_RECEIVE_BUFFER)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)

