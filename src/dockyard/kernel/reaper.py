"""Finish removals after the request that asked for them has returned.

Unregistering a netdev waits for an RCU grace period: ~40 ms for a bridge and ~20 ms
for a veth pair on this kind of machine, and so does an nftables commit that deletes
set elements (~10-20 ms): together most of a ``network rm`` or a ``disconnect``.
Nothing the user asked for depends on that wait once the device is down and the state
is committed, so the wait happens here, on one background thread in the host's
namespace, in submission order. Jobs have keys (a device name, "nftables"); whoever
needs a key again first waits for its pending jobs: a new bridge with the same name,
or the next firewall change, which must apply after the deferred one. Interpreter exit
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
    def __init__(self, host_netns: str | None) -> None:
        self._host_netns = host_netns
        self._pending: Counter[str] = Counter()
        self._cond = threading.Condition()
        self._queue: queue.SimpleQueue[tuple[str, Callable[[Rtnl], object]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        atexit.register(self.settle)

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
        self._queue.put((key, job))

    def pending(self, key: str | None = None) -> bool:
        with self._cond:
            return bool(+self._pending) if key is None else self._pending[key] > 0

    def wait_for(self, key: str) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._pending[key] <= 0)

    def settle(self) -> None:
        """Wait until every deletion handed over so far is done."""
        with self._cond:
            self._cond.wait_for(lambda: not +self._pending)

    def close(self) -> None:
        self.settle()
        with self._cond:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()
        atexit.unregister(self.settle)

    def _run(self) -> None:
        if self._host_netns is not None:
            setns_current_thread(self._host_netns)
        with Rtnl() as rtnl:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                key, job = item
                try:
                    job(rtnl)
                except Exception:  # logged; reconcile repairs what is left
                    log.exception("background removal of %s failed", key)
                finally:
                    with self._cond:
                        self._pending[key] -= 1
                        self._cond.notify_all()
