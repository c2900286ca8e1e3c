"""An event loop on a thread that entered a network namespace: what a test uses to run a
stub upstream (or the resolver itself) "in" a throw-away host or a container."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from dockyard.kernel.ns import setns_current_thread

T = TypeVar("T")


@dataclass
class NetnsLoop:
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 20) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


@contextmanager
def loop_in(netns: str) -> Iterator[NetnsLoop]:
    """Sockets the loop's coroutines create live in ``netns`` (setns is per thread)."""
    loop = asyncio.new_event_loop()
    entered = threading.Event()

    def main() -> None:
        setns_current_thread(netns)
        entered.set()
        loop.run_forever()

    thread = threading.Thread(target=main, name="netns-loop", daemon=True)
    thread.start()
    try:
        assert entered.wait(5), f"loop thread did not enter {netns}"
        yield NetnsLoop(loop, thread)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
