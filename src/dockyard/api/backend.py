"""What the API routes work on: the engine, the image store, the event bus, and (once the
runtime lands) the container manager. Built by the daemon, shared by every request."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dockyard.api.events import EventBus
from dockyard.api.execs import ExecStore
from dockyard.engine import Engine
from dockyard.errors import NotFound
from dockyard.images import ImageStore
from dockyard.model.sandbox import Sandbox

T = TypeVar("T")
API_THREADS = 64  # requests blocked in the kernel or on a container's lock at once
_POOL: ThreadPoolExecutor | None = None


def _api_pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(API_THREADS, thread_name_prefix="dockyard-api")
    return _POOL


@dataclass
class Backend:
    engine: Engine
    images: ImageStore
    events: EventBus
    root: str
    exec_root: str
    started: float
    # The container manager from dockyard.runtime, when that package provides one.
    containers: Any | None = None
    dns_servers: tuple[str, ...] = ()
    runtime: str | None = None  # --runtime: what starts containers (None: the default)
    default_init: bool = False  # --init: containers that do not say run with an init
    live_restore: bool = True  # --live-restore: containers outlive the daemon
    execs: ExecStore = field(default_factory=ExecStore)
    extra: dict[str, Any] = field(default_factory=dict)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Blocking engine/store work off the event loop (the engine has its own lock).

        On the API's own pool, not the loop's default executor: engine listeners (the
        DNS binding) block a request's thread until work they hand to the default
        executor is done, so sharing one small pool starves it under parallel clients."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_api_pool(), functools.partial(fn, *args, **kwargs))

    def sandbox_for_container(self, ref: str) -> Sandbox:
        """The sandbox behind a container reference, with Docker's 404 when none.

        Without a container manager, a sandbox made through the engine stands for a
        container (same id, same name), as the runtime makes one for each container."""
        try:
            return self.engine.sandbox(ref)
        except NotFound:
            raise NotFound(f"No such container: {ref}") from None
