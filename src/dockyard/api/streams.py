"""Docker's stream framing and hijacked connections.

Without a tty, output travels "multiplexed": each piece is preceded by an 8-byte header,
the stream (1 stdout, 2 stderr) then three zero bytes then the payload's length as a
big-endian uint32; with a tty it is the terminal's bytes as they are. ``attach`` and
``exec start`` take over the connection: when the client asks for ``Upgrade: tcp`` the
answer is ``101 UPGRADED`` and from then on the socket carries raw frames until the daemon
closes it; docker-py and the docker CLI read the socket directly, so nothing may be
chunk-encoded there. What the client sends on it is the process's stdin
(:class:`Input`); its half-close is the end of that input.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct

from aiohttp import web

STDOUT = 1
STDERR = 2
MULTIPLEXED = "application/vnd.docker.multiplexed-stream"
RAW = "application/vnd.docker.raw-stream"


def frame(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxI", stream, len(data)) + data if data else b""


class Hijacked:
    """The connection of one attach/exec request, taken over for raw output (or, for a
    client that did not ask to upgrade, an ordinary chunked body)."""

    def __init__(self, request: web.Request, response: web.StreamResponse,
                 upgraded: bool, input: Input | None = None) -> None:
        self.request = request
        self.response = response
        self.upgraded = upgraded
        self.input = input  # None: the client did not upgrade and cannot send anything

    @property
    def gone(self) -> bool:
        transport = self.request.transport
        return transport is None or transport.is_closing()

    async def write(self, data: bytes) -> None:
        if not data or self.gone:
            return
        if not self.upgraded:
            with contextlib.suppress(ConnectionError):
                await self.response.write(data)
            return
        transport = self.request.transport
        assert transport is not None
        transport.write(data)
        while transport.get_write_buffer_size() > 1 << 20 and not transport.is_closing():
            await asyncio.sleep(0.01)  # a slow reader: do not buffer without bound

    async def close(self) -> None:
        if not self.upgraded:
            with contextlib.suppress(ConnectionError):
                await self.response.write_eof()
            return
        transport = self.request.transport
        if transport is not None and not transport.is_closing():
            with contextlib.suppress(OSError):
                if transport.can_write_eof():
                    transport.write_eof()
            transport.close()


class Input:
    """What the client sends on an upgraded connection (a process's stdin), in order, then
    None at its half-close. Reading stops while much is queued (the process is slow)."""

    HIGH = 64  # chunks queued before the socket is no longer read

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._paused = False

    def feed(self, data: bytes | None) -> None:
        self._queue.put_nowait(data)
        if data is not None and self._queue.qsize() >= self.HIGH and not self._paused:
            self._paused = True
            with contextlib.suppress(RuntimeError):
                self._transport.pause_reading()

    async def read(self) -> bytes | None:
        item = await self._queue.get()
        if self._paused and self._queue.qsize() < self.HIGH // 2:
            self._paused = False
            with contextlib.suppress(RuntimeError):
                self._transport.resume_reading()
        return item


class _HalfOpen(asyncio.Protocol):
    """Stands in for aiohttp's protocol on an upgraded connection. The docker CLI
    half-closes its side once it has no stdin to send; asyncio closes the whole
    connection on EOF unless the protocol says to keep it, and the output still has to
    go out. What arrives goes to ``sink``."""

    def __init__(self, inner: asyncio.BaseProtocol, sink: Input) -> None:
        self._inner = inner
        self._sink = sink

    def data_received(self, data: bytes) -> None:
        self._sink.feed(data)

    def eof_received(self) -> bool:
        self._sink.feed(None)
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


async def hijack(request: web.Request, tty: bool = False) -> Hijacked:
    """Send the headers that hand the socket over, as dockerd does."""
    upgrade = request.headers.get("Upgrade", "").lower() == "tcp"
    if upgrade:
        response = web.StreamResponse(status=101, reason="UPGRADED")
        response.headers["Connection"] = "Upgrade"
        response.headers["Upgrade"] = "tcp"
    else:
        response = web.StreamResponse(status=200)
    response.headers["Content-Type"] = RAW if tty else MULTIPLEXED
    response.force_close()
    await response.prepare(request)
    transport = request.transport
    sink = None
    if upgrade and transport is not None and request.protocol is not None:
        sink = Input(transport)
        # Bytes that came right behind the request wait in aiohttp's protocol: they are
        # the start of stdin (and must not be parsed as a next request).
        tail = getattr(request.protocol, "_message_tail", b"")
        if tail:
            sink.feed(bytes(tail))
            request.protocol._message_tail = b""
        transport.set_protocol(_HalfOpen(request.protocol, sink))
        with contextlib.suppress(AttributeError, RuntimeError):
            if not transport.is_reading():
                transport.resume_reading()
    return Hijacked(request, response, upgrade, sink)



async def spool_body(request: web.Request, directory: str, prefix: str) -> str:
    """The request body in a new file under ``directory`` (an upload to read twice, or to
    unpack once whole); the file is gone again if the upload fails."""
    import os
    import tempfile

    fd, path = tempfile.mkstemp(dir=directory, prefix=prefix)
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.content.iter_chunked(1 << 20):
                out.write(chunk)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        raise
    return path
