"""What the API routes work on: the engine, the image store, the event bus, and (once the
runtime lands) the container manager. Built by the daemon, shared by every request."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dockyard.api.events import EventBus
from dockyard.engine import Engine
from dockyard.errors import NotFound
from dockyard.images import ImageStore
from dockyard.model.sandbox import Sandbox

T = TypeVar("T")


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
    extra: dict[str, Any] = field(default_factory=dict)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Blocking engine/store work off the event loop (the engine has its own lock)."""
        return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))

    def sandbox_for_container(self, ref: str) -> Sandbox:
        """The sandbox behind a container reference, with Docker's 404 when none.

        Until containers exist, a sandbox made through the engine stands for one (same
        id, same name), which is what the runtime will create for each container."""
        try:
            return self.engine.sandbox(ref)
        except NotFound:
            raise NotFound(f"No such container: {ref}") from None
