"""``attach``, interactive ``exec start`` and ``resize``: a client's stdin to a container's
process, its output (or its terminal's) back, Docker's way.

Container attach: output without a terminal comes from the json-file log (dyinit writes
it, the container's pipes are its own); a terminal's output comes live from the manager's
:class:`~dockyard.runtime.stdio.Console`, which also logs it. Input goes to the Console,
which queues it until the container runs. Docker's rules for the end of the client's
input: with ``StdinOnce`` and no terminal it closes the process's stdin (``echo hi |
docker run -i busybox cat``); otherwise it ends this attach and the process keeps its
stdin. With a terminal the detach keys (default ctrl-p ctrl-q) end the attach too.

Exec with ``AttachStdin`` or ``Tty``: the runtime starts the command with a terminal or
pipes (``ContainerManager.exec_spawn``) and the event loop moves the bytes (no thread per
session); the exit code is recorded before the connection closes, so a client that asks
for it right after the stream ended finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from typing import Any

from aiohttp import web

from dockyard.api.app import backend, path_ref, query_bool
from dockyard.api.backend import Backend
from dockyard.api.execs import ExecConfig
from dockyard.api.routes_containers import (
    POLL,
    ContainerEvents,
    _frames,
    _get,
    _log_path,
    _read_fd,
    _reload,
    manager,
    publish,
)
from dockyard.api.streams import STDERR, STDOUT, Hijacked, Input, frame, hijack
from dockyard.errors import Conflict, DockyardError, InvalidParameter
from dockyard.escape import DEFAULT_DETACH_KEYS, EscapeFilter, parse_detach_keys
from dockyard.kernel import console as kconsole
from dockyard.kernel.console import ExecProcess
from dockyard.runtime import logs as logfile
from dockyard.runtime.container import Container
from dockyard.runtime.stdio import Console

EXIT_GRACE = 0.2  # seconds of output still taken after an exec's process has exited
ENDED = b""  # queued for an attach whose client left (input over, detach keys)


# ------------------------------------------------------------------ attach


def _done(latest: Container | None, started: bool, finished: str, error: str) -> bool:
    """An attach is over once its container has run and stopped, a start failed (a new
    State.Error) or the container is gone."""
    return latest is None or (latest.state.status in ("exited", "created")
                              and (started or latest.state.finished_at != finished
                                   or latest.state.error != error))


async def attach(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    m = manager(b)
    ref = path_ref(request)
    c = await _get(b, ref)
    if getattr(c.state, "paused", False):
        raise Conflict(f"container {ref} is paused, unpause the container before attach")
    if c.state.status == "restarting":
        raise Conflict(f"container {ref} is restarting, wait until the container is running")
    keys = parse_detach_keys(request.query.get("detachKeys") or DEFAULT_DETACH_KEYS)
    logs, follow = query_bool(request, "logs"), query_bool(request, "stream", True)
    streams = (query_bool(request, "stdout"), query_bool(request, "stderr"))
    use_stdin = query_bool(request, "stdin") and c.spec.open_stdin and follow
    tty = c.spec.tty
    console = await b.run(m.console, c.id) if (use_stdin or tty) else None
    # Hold the log open from now on: with AutoRemove the container's directory may be
    # gone before the last look, and an open file keeps what was written readable.
    fd = await b.run(os.open, _log_path(m, c.id), os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC,
                     0o640)
    stream = await hijack(request, tty=tty)
    publish(b, c, "attach")  # as Docker: `docker run` shows create, attach, start, die
    wake: asyncio.Queue[bytes | None] = asyncio.Queue()
    ended = asyncio.Event()
    pump = None
    if use_stdin and console is not None and stream.input is not None:
        pump = asyncio.get_running_loop().create_task(_pump_stdin(
            b, console, stream.input, EscapeFilter(keys if tty else b""),
            close_stdin=c.spec.stdin_once and not tty, ended=ended, wake=wake))
    try:
        offset = 0 if logs else os.fstat(fd).st_size
        if tty and console is not None:
            records, _ = await b.run(_read_fd, fd, 0) if logs else ([], 0)
            await stream.write(_frames(_pick(records, streams), False, tty=True))
            if follow:
                await _follow_terminal(b, c, console, stream, wake, show=streams[0])
        else:
            await _follow_log(b, c, fd, offset, stream, streams, follow, ended)
    finally:
        if pump is not None:
            pump.cancel()
        os.close(fd)
        await stream.close()
    return stream.response


def _pick(records: list[logfile.LogRecord], streams: tuple[bool, bool]
          ) -> list[logfile.LogRecord]:
    return list(logfile.select(records, stdout=streams[0], stderr=streams[1]))


async def _follow_log(b: Backend, c: Container, fd: int, offset: int, stream: Hijacked,
                      streams: tuple[bool, bool], follow: bool, ended: asyncio.Event) -> None:
    """Output without a terminal: the log's new records until the container has run and
    stopped (or the client's input ended the attach). The log is read every POLL; the
    container's events (start, die, destroy) wake the loop at once, so a run's end is seen
    when it is recorded, not up to a POLL later."""
    m = manager(b)
    finished, error, started = c.state.finished_at, c.state.error, c.state.running
    with ContainerEvents(b, c.id) as events:
        while not stream.gone:
            latest = await b.run(_reload, m, c.id)
            if latest is not None and latest.state.status in ("running", "starting"):
                started = True
            done = _done(latest, started, finished, error)
            records, offset = await b.run(_read_fd, fd, offset)
            await stream.write(_frames(_pick(records, streams), False))
            if done or not follow or ended.is_set():
                return
            await events.next(POLL)


async def _follow_terminal(b: Backend, c: Container, console: Console, stream: Hijacked,
                           chunks: asyncio.Queue[bytes | None], show: bool) -> None:
    """A terminal's output, live (if ``show``: a client may attach its input only), until
    its run ends (or the attach does)."""
    loop = asyncio.get_running_loop()

    def deliver(data: bytes | None) -> None:  # called on the console's reader thread
        with contextlib.suppress(RuntimeError):  # the loop is closing: nobody to tell
            loop.call_soon_threadsafe(chunks.put_nowait, data)

    sub = console.subscribe(deliver)
    finished, error = c.state.finished_at, c.state.error
    try:
        while not stream.gone:
            try:
                data = await asyncio.wait_for(chunks.get(), POLL * 4)
            except TimeoutError:
                # A run that never began (a failed start, a removed container) sends
                # nothing: the container's state says when to stop waiting.
                if not sub.began and _done(await b.run(_reload, manager(b), c.id), False,
                                           finished, error):
                    return
                continue
            if not data:  # None: the run's output ended; ENDED: the client left
                return
            if show:
                await stream.write(data)
    finally:
        console.unsubscribe(sub)


async def _pump_stdin(b: Backend, console: Console, source: Input, escape: EscapeFilter, *,
                      close_stdin: bool, ended: asyncio.Event,
                      wake: asyncio.Queue[bytes | None]) -> None:
    """The client's bytes to the container's stdin, in order; at their end either the
    process's stdin closes (``close_stdin``) or this attach ends."""
    while True:
        data = await source.read()
        if data is None:
            if close_stdin:
                await b.run(console.close_stdin)
            else:
                _end(ended, wake)
            return
        data, detached = escape.feed(data)
        if data:
            await b.run(console.write, data)
        if detached:
            _end(ended, wake)
            return


def _end(ended: asyncio.Event, wake: asyncio.Queue[bytes | None]) -> None:
    ended.set()
    wake.put_nowait(ENDED)


# ------------------------------------------------------------------- resize


def _size(request: web.Request) -> tuple[int, int]:
    """``h`` and ``w`` of a resize, as integers a terminal can take."""
    out = []
    for key, name in (("h", "height"), ("w", "width")):
        text = request.query.get(key, "")
        try:
            value = int(text)
        except ValueError:
            value = -1
        if not 0 <= value <= 65535:
            raise InvalidParameter(f'invalid resize {name} "{text}": must be an integer from '
                                   "0 to 65535")
        out.append(value)
    return out[0], out[1]


async def resize(request: web.Request) -> web.StreamResponse:
    """TIOCSWINSZ on the container's terminal (nothing to do for one without)."""
    b = backend(request)
    rows, cols = _size(request)
    c = await _get(b, path_ref(request))
    await b.run(manager(b).resize, c.id, rows, cols)
    return web.Response(status=200)


async def exec_resize(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    rows, cols = _size(request)
    config = b.execs.get(request.match_info["id"])
    if not config.running:
        raise Conflict(f"Exec {config.id} is not running")
    master = b.execs.terminal(config.id)
    if master is not None:  # closed only on this loop, after it leaves the store
        with contextlib.suppress(OSError):
            kconsole.set_size(master, rows, cols)
    return web.Response(status=200)


# ----------------------------------------------------------------- exec start


async def exec_stream(request: web.Request, b: Backend, config: ExecConfig, tty: bool,
                      size: tuple[int, int]) -> web.StreamResponse:
    """``exec start`` of an exec with stdin or a terminal (see the module's note)."""
    m = manager(b)
    try:
        proc = await b.run(m.exec_spawn, config.container_id, config.cmd, env=config.env,
                           workdir=config.workdir, user=config.user,
                           tty=size if tty else None, stdin=config.attach_stdin)
    except DockyardError:
        b.execs.finish(config.id, 126)
        raise
    b.execs.running(config.id, proc.proc.pid, proc.master)
    stream = await hijack(request, tty=tty)
    session = _ExecSession(b, config, proc, stream, tty)
    try:
        await session.run()
    finally:
        await stream.close()
    return stream.response


class _ExecSession:
    def __init__(self, b: Backend, config: ExecConfig, proc: ExecProcess, stream: Hijacked,
                 tty: bool) -> None:
        self.b = b
        self.config = config
        self.proc = proc
        self.stream = stream
        self.tty = tty
        self.loop = asyncio.get_running_loop()
        self.output: asyncio.Queue[tuple[int, bytes | None]] = asyncio.Queue()
        self.readers: dict[int, int] = {}  # fd -> stream
        self.left = False  # the client's input ended the attach, or it went away

    def _outputs(self) -> list[tuple[int, int]]:
        p = self.proc.proc
        assert p.stderr is not None
        if self.tty:
            assert self.proc.master is not None
            return [(self.proc.master, STDOUT), (p.stderr.fileno(), STDOUT)]
        assert p.stdout is not None
        return [(p.stdout.fileno(), STDOUT), (p.stderr.fileno(), STDERR)]

    async def run(self) -> None:
        for fd, kind in self._outputs():
            os.set_blocking(fd, False)
            self.readers[fd] = kind
            self.loop.add_reader(fd, self._readable, fd)
        pump = None
        if self.stream.input is not None and self.config.attach_stdin:
            pump = self.loop.create_task(self._pump_stdin())
        exited = self.loop.create_task(self._exited())
        try:
            await self._forward(exited)
        finally:
            if pump is not None:
                pump.cancel()
        if self.left and not exited.done():
            # The client is gone but the command runs on: finish it in the background.
            task = self.loop.create_task(self._finish(exited, forward=False))
            self.b.extra.setdefault("exec_tasks", set()).add(task)
            task.add_done_callback(self.b.extra["exec_tasks"].discard)
            return
        await self._finish(exited, forward=True)

    async def _exited(self) -> int:
        """The command's exit status, watched through a pidfd (no thread waits)."""
        pidfd = os.pidfd_open(self.proc.proc.pid)
        done: asyncio.Future[None] = self.loop.create_future()
        self.loop.add_reader(pidfd, _set_done, done)
        try:
            await done
        finally:
            self.loop.remove_reader(pidfd)
            os.close(pidfd)
        return self.proc.proc.wait()

    def _readable(self, fd: int) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: the terminal's last holder is gone
            data = b""
        if not data:
            self._stop_reading(fd)
        self.output.put_nowait((self.readers.get(fd, STDOUT), data or None))

    def _stop_reading(self, fd: int) -> None:
        if self.readers.pop(fd, None) is not None:
            self.loop.remove_reader(fd)

    async def _forward(self, exited: asyncio.Task[int]) -> None:
        """Output to the client until every output has ended, or the command has exited
        and what it left is taken (a background child may hold the pipes forever)."""
        grace_until = None
        while self.readers or not self.output.empty():
            if self.stream.gone or self.left:
                self.left = True
                return
            if exited.done() and grace_until is None:
                grace_until = self.loop.time() + EXIT_GRACE
            timeout = POLL if grace_until is None else grace_until - self.loop.time()
            if grace_until is not None and timeout <= 0 and self.output.empty():
                return
            try:
                kind, data = await asyncio.wait_for(self.output.get(), max(timeout, 0.001))
            except TimeoutError:
                continue
            if data is None:
                continue
            if kind == STDOUT and not self.config.attach_stdout:
                continue
            if kind == STDERR and not self.config.attach_stderr:
                continue
            await self.stream.write(data if self.tty else frame(kind, data))

    async def _finish(self, exited: asyncio.Task[int], forward: bool) -> None:
        """Collect the exit code (recorded before the client's connection closes) and
        release the process's descriptors."""
        if not forward:
            while self.readers:  # nobody reads the output any more: keep it flowing
                await asyncio.sleep(POLL)
                while not self.output.empty():
                    self.output.get_nowait()
                if exited.done():
                    break
        code = await exited
        for fd in list(self.readers):
            self._stop_reading(fd)
        self.b.execs.finish(self.config.id, _exit_code(code))
        self.proc.close()

    async def _pump_stdin(self) -> None:
        """The client's bytes to the command; at their end its stdin closes (a pipe) or,
        with a terminal, the attach ends (Docker's rules for an exec)."""
        assert self.stream.input is not None
        if self.tty:
            fd = self.proc.master
        else:
            fd = self.proc.proc.stdin.fileno() if self.proc.proc.stdin else None
        if fd is None:
            return
        os.set_blocking(fd, False)
        keys = self.config.detach_keys or DEFAULT_DETACH_KEYS
        escape = EscapeFilter(parse_detach_keys(keys) if self.tty else b"")
        while True:
            data = await self.stream.input.read()
            if data is None:
                if self.tty:
                    self.left = True
                elif self.proc.proc.stdin is not None:
                    self.proc.proc.stdin.close()
                return
            data, detached = escape.feed(data)
            if data and not await _write(self.loop, fd, data):
                return
            if detached:
                self.left = True
                return


async def _write(loop: asyncio.AbstractEventLoop, fd: int, data: bytes) -> bool:
    """All of ``data`` to a non-blocking ``fd``; False once its reader is gone."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            ready: asyncio.Future[None] = loop.create_future()
            loop.add_writer(fd, _set_done, ready)
            try:
                await ready
            finally:
                loop.remove_writer(fd)
        except OSError:
            return False
    return True


def _set_done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _exit_code(returncode: int) -> int:
    """A Popen return code as a shell's: 128+N for a command killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode


ROUTES: list[tuple[str, str, Callable[[web.Request], Any]]] = [
    ("POST", "/containers/{id}/attach", attach),
    ("POST", "/containers/{id}/resize", resize),
    ("POST", "/exec/{id}/resize", exec_resize),
]
