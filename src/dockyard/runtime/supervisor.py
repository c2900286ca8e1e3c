"""One background thread watching every container's init through its pidfd.

``select.poll`` over the pidfds plus a wake-up pipe; timers (restart back-off) in a heap.
Handlers run on short-lived threads so a slow teardown or restart never delays noticing
another container's exit. No thread or process per container: an idle container costs
the supervisor one pidfd and one dict entry.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import os
import select
import threading
import time
from collections.abc import Callable

from dockyard.kernel.process import close_quietly

ExitHandler = Callable[[str, int], None]  # (container id, pid)


class Supervisor:
    def __init__(self, on_exit: ExitHandler) -> None:
        self._on_exit = on_exit
        self._lock = threading.Lock()
        self._watched: dict[int, tuple[str, int]] = {}  # pidfd -> (container id, pid)
        self._by_container: dict[str, int] = {}
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._poll = select.poll()
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._poll.register(self._wake_r, select.POLLIN)
        self._thread: threading.Thread | None = None
        self._stopping = False

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="dockyard-supervisor",
                                            daemon=True)
            self._thread.start()

    @property
    def stopped(self) -> bool:
        return self._stopping

    def stop(self) -> None:
        """Stop watching (containers keep running; a new manager adopts them)."""
        self._stopping = True
        self._wake()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            for fd in list(self._watched):
                close_quietly(fd)
            self._watched.clear()
            self._by_container.clear()
        close_quietly(self._wake_r)
        close_quietly(self._wake_w)

    def watch(self, container_id: str, pid: int, pidfd: int) -> None:
        with self._lock:
            old = self._by_container.pop(container_id, None)
            if old is not None:
                self._drop(old)
            self._watched[pidfd] = (container_id, pid)
            self._by_container[container_id] = pidfd
            self._poll.register(pidfd, select.POLLIN)
        self._wake()

    def watching(self, container_id: str) -> bool:
        with self._lock:
            return container_id in self._by_container

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        with self._lock:
            heapq.heappush(self._timers, (time.monotonic() + delay, next(self._seq), fn))
        self._wake()

    def _drop(self, fd: int) -> None:
        self._watched.pop(fd, None)
        with contextlib.suppress(KeyError):
            self._poll.unregister(fd)
        close_quietly(fd)

    def _wake(self) -> None:
        # A full pipe wakes the loop just as well; a closed one means stopped.
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _run(self) -> None:
        while not self._stopping:
            with self._lock:
                timeout = None
                if self._timers:
                    timeout = max(0.0, self._timers[0][0] - time.monotonic()) * 1000
            events = self._poll.poll(timeout)
            for fd, _ in events:
                if fd == self._wake_r:
                    try:
                        while os.read(self._wake_r, 512):
                            pass
                    except (BlockingIOError, OSError):
                        pass
                    continue
                with self._lock:
                    entry = self._watched.get(fd)
                    if entry is None:
                        continue
                    self._by_container.pop(entry[0], None)
                    self._drop(fd)
                _spawn(functools.partial(self._on_exit, entry[0], entry[1]))
            due: list[Callable[[], None]] = []
            with self._lock:
                now = time.monotonic()
                while self._timers and self._timers[0][0] <= now:
                    due.append(heapq.heappop(self._timers)[2])
            for fn in due:
                _spawn(fn)


def _spawn(fn: Callable[[], None]) -> None:
    threading.Thread(target=fn, name="dockyard-container-event", daemon=True).start()
