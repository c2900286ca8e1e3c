"""``pause``, ``unpause`` and ``oom`` events, from the container states the manager saves.

Why from saved states rather than from the requests: a paused container is also thawed
by ``stop``, ``kill`` and ``rm -f`` (Docker resumes it so that the signal can end it, and
reports ``unpause``), and an OOM kill is found when the container exits, on no request at
all. Docker reports ``oom`` before the ``die`` of the same exit, so this observer must be
told of each state before :class:`~dockyard.api.container_events.ExitEvents` is.
"""

from __future__ import annotations

import threading
import time

from dockyard.api.events import Event, EventBus
from dockyard.runtime.container import RUNNING, Container


class StateEvents:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[str, bool]] = {}  # id -> (status, paused)

    def remember(self, c: Container) -> None:
        """Know ``c``'s state without reporting anything (the daemon, at its start)."""
        with self._lock:
            self._seen[c.id] = (c.state.status, c.state.paused)

    def __call__(self, c: Container) -> None:
        """Called from whichever thread saved ``c``: cheap and non-blocking."""
        status, paused = c.state.status, c.state.paused
        with self._lock:
            before = self._seen.get(c.id)
            self._seen[c.id] = (status, paused)
        if before is None:
            return
        was_running, was_paused = before[0] == RUNNING, before[1]
        actions = []
        if status == RUNNING and paused != was_paused:
            actions.append("pause" if paused else "unpause")
        if was_running and status != RUNNING and c.state.oom_killed:
            actions.append("oom")
        for action in actions:
            self._bus.publish(Event("container", action, c.id, {
                **c.labels, "image": c.image_ref, "name": c.name}, time.time_ns()))
