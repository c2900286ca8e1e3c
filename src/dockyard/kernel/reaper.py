"""Finish removals after the request that asked for them has returned.

Unregistering a netdev waits for an RCU grace period: ~40 ms for a bridge and ~20 ms
for a veth pair on this kind of machine, and so does an nftables commit that deletes
set elements (~10-20 ms): together most of a ``network rm`` or a ``disconnect``.
Nothing the user asked for depends on that wait once the device is down and the state
is committed, so the wait happens here, on background threads in the host's namespace:
one per lane (devices, firewall), each in submission order. Jobs have keys (a device
name, "nftables"); whoever needs a key again first waits for its pending jobs: a new
bridge with the same name, or the next firewall change, which must apply after the
deferred one. Interpreter exit
and ``close()`` wait for everything, and a crash leaves at most an orphan device or
stale set elements that the next start's reconcile removes.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable

from dockyard.kernel import netlink
from dockyard.kernel.ns import setns_current_thread
from dockyard.kernel.rtnl import Rtnl

log = logging.getLogger(__name__)


class Reaper:
    """Background jobs in lanes: one thread each, jobs of a lane in submission order.

    Device deletions and firewall commits go in different lanes. Each waits out its own
    grace period, and nothing orders one kind after the other: a firewall change waiting
    behind a bridge's unregister (~40 ms) would make the next ``network create`` wait for
    both."""

    def __init__(self, host_netns: str | None) -> None:
        self._host_netns = host_netns
        self._pending: Counter[str] = Counter()
        self._cond = threading.Condition()
        self._lanes: dict[str, _Lane] = {}
        atexit.register(self.settle)

    def delete(self, name: str) -> None:
        """Delete the host device ``name`` in the background."""
        self.submit(name, lambda rtnl: netlink.delete_link(rtnl, name))

    def submit(self, key: str, job: Callable[[Rtnl], object], lane: str = "links") -> None:
        """Run ``job`` on ``lane``'s thread after the jobs already there. ``key`` names
        what it changes, for :meth:`wait_for`; a key must always use the same lane."""
        with self._cond:
            self._pending[key] += 1
            worker = self._lanes.get(lane)
            if worker is None:
                worker = self._lanes[lane] = _Lane(lane, self._host_netns, self._done)
        worker.queue.put((key, job))

    def pending(self, key: str | None = None) -> bool:
        with self._cond:
            return bool(+self._pending) if key is None else self._pending[key] > 0

    def wait_for(self, key: str) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._pending[key] <= 0)

    def settle(self) -> None:
        """Wait until every job handed over so far is done."""
        with self._cond:
            self._cond.wait_for(lambda: not +self._pending)

    def close(self) -> None:
        self.settle()
        with self._cond:
            lanes, self._lanes = list(self._lanes.values()), {}
        for worker in lanes:
            worker.stop()
        atexit.unregister(self.settle)

    def _done(self, key: str) -> None:
        with self._cond:
            self._pending[key] -= 1
            self._cond.notify_all()


class _Lane:
    def __init__(self, name: str, host_netns: str | None,
                 done: Callable[[str], None]) -> None:
        self.queue: queue.SimpleQueue[tuple[str, Callable[[Rtnl], object]] | None] = (
            queue.SimpleQueue())
        self._host_netns = host_netns
        self._done = done
        self._thread = threading.Thread(target=self._run, name=f"dockyard-reaper-{name}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        if self._host_netns is not None:
            setns_current_thread(self._host_netns)
        with Rtnl() as rtnl:
            while True:
                item = self.queue.get()
                if item is None:
                    return
                key, job = item
                try:
                    job(rtnl)
                except Exception:  # logged; reconcile repairs what is left
                    log.exception("background removal of %s failed", key)
                finally:
                    self._done(key)
