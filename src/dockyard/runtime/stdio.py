"""The daemon's side of a container's stdin and terminal (``docker run -i`` / ``-t``).

A container made with ``OpenStdin`` gets a pipe as its command's stdin, whose write end
the manager holds; one made with ``Tty`` gets a terminal, which ``dyinit`` opens inside
the container (so it is ``/dev/pts/0`` there) and whose master it sends to the manager
(``kernel/dyinit.c``). One :class:`Console` per such container carries, across its runs:

- input: written by attached clients (:meth:`Console.write`); queued while the container
  is not running yet (``docker run -i`` attaches and sends before it starts), delivered
  by one writer thread per run; :meth:`Console.close_stdin` ends it (``StdinOnce``).
- a terminal's output: one reader thread per run writes it to the json-file log as
  "stdout" records (dyinit logs its pipes itself but cannot share a terminal) and hands
  every chunk to the attached clients (:meth:`Console.subscribe`) as it comes.

Containers without stdin or a terminal have no Console: their start is unchanged.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import socket
import threading
import time
from collections.abc import Callable

from dockyard.errors import KernelError
from dockyard.kernel import console as kconsole

INPUT_CHUNKS = 256  # queued writes per run before a writer waits (about 8 MiB from a socket)
LOG_LINE_MAX = 16384  # Docker's json-file splits longer lines into 16 KiB records
MASTER_FD = 6  # where dyinit keeps its copy of the terminal's master
RECEIVE_TIMEOUT = 5.0

Listener = Callable[[bytes | None], None]


class Subscription:
    """One attached client's view of a terminal's output: the chunks of one run (the live
    one, or the next if none is live), then None when that run's output has ended."""

    def __init__(self, listener: Listener, run: int, began: bool) -> None:
        self.listener = listener
        self.run = run
        self.began = began  # whether its run has started (a start may also fail)


class _Input:
    """One run's stdin: queued chunks (None: end of input) and whether the run is over."""

    def __init__(self) -> None:
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=INPUT_CHUNKS)
        self.over = threading.Event()


class _LogWriter:
    """A terminal's output as Docker's json-file records, one per line."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        self._pending = b""

    def feed(self, data: bytes) -> None:
        self._pending += data
        records = []
        while True:
            cut = self._pending.find(b"\n", 0, LOG_LINE_MAX) + 1
            if not cut and len(self._pending) >= LOG_LINE_MAX:
                cut = LOG_LINE_MAX
            if not cut:
                break
            records.append(self._pending[:cut])
            self._pending = self._pending[cut:]
        self._write(records)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._write([self._pending] if self._pending else [])
            os.close(self._fd)

    def _write(self, records: list[bytes]) -> None:
        if not records:
            return
        lines = [json.dumps({"log": r.decode(errors="replace"), "stream": "stdout",
                             "time": _stamp()}, ensure_ascii=False, separators=(",", ":"))
                 for r in records]
        os.write(self._fd, ("\n".join(lines) + "\n").encode())


def _stamp() -> str:
    """RFC 3339 with nanoseconds, as dyinit writes it."""
    now = time.time_ns()
    seconds, nanos = divmod(now, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


class Console:
    def __init__(self, container_id: str, log_path: str, tty: bool) -> None:
        self.container_id = container_id
        self.log_path = log_path
        self.tty = tty
        self._cond = threading.Condition()
        self._runs = 0  # runs begun
        self._live = False  # a run's output is being read (tty) / its stdin open
        self._subs: list[Subscription] = []
        self._input = _Input()
        self._master: int | None = None
        self._size = (0, 0)
        self._pending: tuple[socket.socket | int, int] | None = None  # (ours, the child's)
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)  # stops reading
        self._discarded = False

    # ------------------------------------------------------------ one start

    def prepare(self, rows: int = 0, cols: int = 0) -> str:
        """Before a start: the ``DYINIT_STDIO`` value; :attr:`child_fd` is then what must
        become the init's fd 6 (a socket to send the master over, or the stdin pipe's read
        end). ``rows``/``cols``: the terminal's first size (0: the last one set)."""
        self.abandon()
        if rows and cols:
            self._size = (rows, cols)
        if self.tty:
            ours, theirs = kconsole.console_socket()
            self._pending = (ours, theirs.detach())
            rows, cols = self._size
            return f"tty {rows} {cols}"
        read_end, write_end = os.pipe2(os.O_CLOEXEC)
        self._pending = (write_end, read_end)
        return "stdin"

    @property
    def child_fd(self) -> int:
        assert self._pending is not None, "child_fd before prepare()"
        return self._pending[1]

    def spawned(self) -> None:
        """The init has its copy of fd 6: ours of the child's end goes."""
        if self._pending is not None:
            with contextlib.suppress(OSError):
                os.close(self._pending[1])
            self._pending = (self._pending[0], -1)

    def abandon(self) -> None:
        """A start that failed: close what :meth:`prepare` made."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        ours, theirs = pending
        if isinstance(ours, socket.socket):
            ours.close()
        else:
            with contextlib.suppress(OSError):
                os.close(ours)
        if theirs >= 0:
            with contextlib.suppress(OSError):
                os.close(theirs)

    @property
    def size(self) -> tuple[int, int]:
        """The terminal's size for the next start, (rows, cols); (0, 0): unknown."""
        return self._size

    def begin(self, master: int | None = None) -> None:
        """The init reported that the command runs: start this run's input and output.
        ``master``: the terminal's, when it came another way (dymon's reply)."""
        if master is not None:
            self.abandon()
            self._run(master)
            return
        pending, self._pending = self._pending, None
        assert pending is not None, "begin() without prepare()"
        ours = pending[0]
        if isinstance(ours, socket.socket):
            with ours:
                master = kconsole.receive_fd(ours, RECEIVE_TIMEOUT)
            if master is None:
                raise KernelError(f"container {self.container_id[:12]}: its init sent no "
                                  "terminal")
            self._run(master)
        else:
            self._run(ours)

    def adopt(self, pidfd: int, master: int | None = None) -> bool:
        """After a restart of the manager: take the terminal back, from dymon (which
        sent ``master``) or from the running init (it keeps a copy at fd 6)."""
        if master is None:
            master = kconsole.pidfd_getfd(pidfd, MASTER_FD)
        if master is None:
            return False
        if not kconsole.is_terminal_master(master):  # not what dyinit keeps there
            os.close(master)
            return False
        self._run(master)
        return True

    def _run(self, fd: int) -> None:
        os.set_blocking(fd, False)
        with self._cond:
            self._runs += 1
            run = self._runs
            self._live = True
            for sub in self._subs:
                if sub.run == run:
                    sub.began = True
            inp = self._input
            if self.tty:
                self._master = fd
        writer = threading.Thread(target=self._write_loop, args=(fd, inp),
                                  name=f"stdin-{self.container_id[:12]}", daemon=True)
        writer.start()
        if self.tty:
            threading.Thread(target=self._read_loop, args=(fd, run, inp, writer),
                             name=f"tty-{self.container_id[:12]}", daemon=True).start()

    def release(self) -> None:
        """The manager is going away, the container is not: stop reading and writing and
        close our ends (a terminal stays alive through dyinit's copy, for the next manager
        to :meth:`adopt`; a stdin pipe closes, and the command reads EOF)."""
        with self._cond:
            inp = self._input
        inp.over.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def discard(self) -> None:
        """The container is removed: nothing more to write. A terminal's reader still
        takes what the command left (its clients see the end of its output) and then
        closes the wake-up pipe; with no reader left, that happens here."""
        with self._cond:
            inp = self._input
            self._discarded = True
            live = self._live and self.tty
        inp.over.set()
        self.abandon()
        if not live:
            self._close_wake()

    def _close_wake(self) -> None:
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def exited(self) -> None:
        """The container's init is gone: its input is over (a terminal's output is still
        read to its end by the reader)."""
        with self._cond:
            inp, self._input = self._input, _Input()
            if not self.tty:
                self._end_run(self._runs)
        inp.over.set()

    # -------------------------------------------------------------- clients

    def write(self, data: bytes) -> bool:
        """Queue input for the running (or next) run; False if that run's input is over.
        Blocks while the queue is full (the command is not reading)."""
        while True:
            with self._cond:
                inp = self._input
            if inp.over.is_set():
                return False
            try:
                inp.queue.put(data, timeout=0.2)
                return True
            except queue.Full:
                continue

    def close_stdin(self) -> None:
        """End of input (StdinOnce): the command reads EOF once it has read the rest."""
        with contextlib.suppress(queue.Full):
            with self._cond:
                inp = self._input
            if not inp.over.is_set():
                inp.queue.put(None, timeout=5)

    def subscribe(self, listener: Listener) -> Subscription:
        with self._cond:
            run = self._runs if self._live else self._runs + 1
            sub = Subscription(listener, run, began=self._live)
            self._subs.append(sub)
            return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._cond, contextlib.suppress(ValueError):
            self._subs.remove(sub)

    def resize(self, rows: int, cols: int) -> None:
        """TIOCSWINSZ on the live terminal; remembered for the next start as well."""
        with self._cond:
            self._size = (rows, cols)
            master = self._master
            if master is not None:
                with contextlib.suppress(OSError):
                    kconsole.set_size(master, rows, cols)

    @property
    def live(self) -> bool:
        with self._cond:
            return self._live

    # -------------------------------------------------------------- threads

    def _write_loop(self, fd: int, inp: _Input) -> None:
        while not inp.over.is_set():
            try:
                item = inp.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is None:
                if self.tty:
                    continue  # a terminal stays: Docker closes only a pipe (StdinOnce)
                break
            if not kconsole.write_all(fd, item, inp.over):
                break
        inp.over.set()
        if not self.tty:  # the pipe is ours alone: closing it is the command's EOF
            with contextlib.suppress(OSError):
                os.close(fd)

    def _read_loop(self, master: int, run: int, inp: _Input, writer: threading.Thread
                   ) -> None:
        log = _LogWriter(self.log_path)
        poller = select.poll()
        poller.register(master, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        try:
            while True:
                if any(fd == self._wake_r for fd, _ in poller.poll()):
                    break  # released: the terminal is left to the next manager
                try:
                    data = os.read(master, 65536)
                except BlockingIOError:
                    continue
                except OSError:  # EIO: every holder of the slave is gone
                    break
                if not data:
                    break
                log.feed(data)
                self._publish(run, data)
        finally:
            log.close()
            inp.over.set()
            writer.join()  # it writes to the master: close only after it stopped
            with self._cond:
                if self._master == master:
                    self._master = None
                self._end_run(run)
                discarded = self._discarded
            os.close(master)
            if discarded:
                self._close_wake()

    def _publish(self, run: int, data: bytes) -> None:
        with self._cond:
            listeners = [s.listener for s in self._subs if s.run == run]
        for listener in listeners:
            listener(data)

    def _end_run(self, run: int) -> None:
        """(Holding the lock.) Tell the clients of ``run`` that it ended (a restart may
        already have begun the next one: that one stays live)."""
        if run == self._runs:
            self._live = False
        done = [s for s in self._subs if s.run == run]
        self._subs = [s for s in self._subs if s.run != run]
        for sub in done:
            sub.listener(None)
