"""``die`` events: a container's process ends on its own time, not in a request.

:class:`ExitEvents` is told of every container state the manager saves and reports a
``die`` when a container leaves ``running``. It also remembers each container's last
exit code, which ``wait?condition=removed`` needs once an ``AutoRemove`` container is
gone from the store. Told at daemon start what every container was (:meth:`remember`),
it also reports exits that happened while no daemon ran, as the start records them.
"""

from __future__ import annotations

import threading
import time

from dockyard.api.events import Event, EventBus
from dockyard.runtime.container import Container


class ExitEvents:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._lock = threading.Lock()
        self._status: dict[str, str] = {}
        self._exit_codes: dict[str, int] = {}

    def __call__(self, c: Container) -> None:
        """Called from whichever thread saved ``c``: cheap and non-blocking."""
        status = c.state.status
        with self._lock:
            before = self._status.get(c.id)
            self._status[c.id] = status
            died = before == "running" and status in ("exited", "restarting")
            if died:
                self._exit_codes[c.id] = c.state.exit_code
            if len(self._exit_codes) > 4096:
                self._exit_codes.pop(next(iter(self._exit_codes)))
        if died:
            self._bus.publish(Event("container", "die", c.id, {
                **c.labels, "image": c.image_ref, "name": c.name,
                "exitCode": str(c.state.exit_code)}, time.time_ns()))

    def remember(self, c: Container) -> None:
        """Know ``c``'s status without reporting anything: the daemon, before its manager
        settles containers, so that one stored as running and found exited dies."""
        with self._lock:
            self._status[c.id] = c.state.status

    def last_exit_code(self, container_id: str) -> int | None:
        with self._lock:
            return self._exit_codes.get(container_id)
