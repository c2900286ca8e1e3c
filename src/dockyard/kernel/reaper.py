"""Delete host devices after the request that removed them has returned, at a quiet moment.

Unregistering a netdev waits for RCU grace periods: ~40 ms for a bridge and ~25 ms for
a veth pair on this kind of machine. Nothing the user asked for depends on it once the
device is down and the state is committed, so it happens here, on one background thread
in the host's namespace, in submission order.

A bridge's unregister also holds the kernel's RTNL lock for ~15-20 ms, and every link
change waits for it: a ``network create`` issued just after a ``network rm`` waited that
long for the old bridge to go. So a deletion waits until the foreground has applied no
kernel change for :data:`QUIET` seconds (the caller reports them with :meth:`note_busy`),
or until it has waited :data:`LONGEST_WAIT`. Whoever needs a key (a device name) again
waits for its pending jobs and hurries them: a new bridge or veth with the same name.
``settle()``, ``close()`` and interpreter exit hurry and wait for everything; a crash
leaves at most an orphan device that the next start's reconcile removes.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable

from dockyard.kernel import netlink
from dockyard.kernel.ns import setns_current_thread
from dockyard.kernel.rtnl import Rtnl

log = logging.getLogger(__name__)

QUIET = 0.05  # seconds without a foreground link change before a deletion may start
LONGEST_WAIT = 2.0  # seconds a deletion waits for quiet at most


class Reaper:
    def __init__(self, host_netns: str | None, quiet: float = QUIET,
                 longest_wait: float = LONGEST_WAIT) -> None:
        self._host_netns = host_netns
        self._quiet = quiet
        self._longest_wait = longest_wait
        self._busy_at = 0.0  # monotonic time of the foreground's last link change
        self._hurry = 0  # callers waiting for jobs: no quiet wait while > 0
        self._pending: Counter[str] = Counter()
        self._cond = threading.Condition()
        self._queue: queue.SimpleQueue[
            tuple[str, Callable[[Rtnl], object], float] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        atexit.register(self.settle)

    def note_busy(self) -> None:
        """The foreground is applying kernel changes now (links, namespaces, the firewall,
        in any namespace: RTNL is one lock for all): deletions hold back."""
        self._busy_at = time.monotonic()  # a float store is atomic: no lock

    def delete(self, name: str) -> None:
        """Delete the host device ``name`` in the background."""
        self.submit(name, lambda rtnl: netlink.delete_link(rtnl, name))

    def submit(self, key: str, job: Callable[[Rtnl], object]) -> None:
        with self._cond:
            self._pending[key] += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="dockyard-reaper",
                                                daemon=True)
                self._thread.start()
        self._queue.put((key, job, time.monotonic()))

    def pending(self, key: str | None = None) -> bool:
        with self._cond:
            return bool(+self._pending) if key is None else self._pending[key] > 0

    def wait_for(self, key: str) -> None:
        self._wait(lambda: self._pending[key] <= 0)

    def settle(self) -> None:
        """Wait until every deletion handed over so far is done."""
        self._wait(lambda: not +self._pending)

    def _wait(self, done: Callable[[], bool]) -> None:
        with self._cond:
            if done():
                return
            self._hurry += 1
            self._cond.notify_all()
            try:
                self._cond.wait_for(done)
            finally:
                self._hurry -= 1

    def close(self) -> None:
        self.settle()
        with self._cond:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()
        atexit.unregister(self.settle)

    def _wait_for_quiet(self, queued_at: float) -> None:
        with self._cond:
            while not self._hurry:
                now = time.monotonic()
                quiet_for = now - self._busy_at
                waited = now - queued_at
                if quiet_for >= self._quiet or waited >= self._longest_wait:
                    return
                self._cond.wait(min(self._quiet - quiet_for, self._longest_wait - waited))

    def _run(self) -> None:
        if self._host_netns is not None:
            setns_current_thread(self._host_netns)
        with Rtnl() as rtnl:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                key, job, queued_at = item
                try:
                    self._wait_for_quiet(queued_at)
                    job(rtnl)
                except Exception:  # logged; reconcile repairs what is left
                    log.exception("background removal of %s failed", key)
                finally:
                    with self._cond:
                        self._pending[key] -= 1
                        self._cond.notify_all()
