"""The event stream behind ``GET /events``: engine changes as Docker's event messages.

The engine calls its listeners from whichever thread made the change; the bus hops to
the event loop before touching any queue. A small history answers ``since``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.api.filters import Filters, match_labels
from dockyard.engine.state import State
from dockyard.model.endpoint import Endpoint

EVENT_FILTERS = ("type", "event", "network", "container", "label", "scope", "image",
                 "volume")


@dataclass(frozen=True)
class Event:
    type: str  # "network", "container", "image"
    action: str  # "create", "destroy", "connect", …
    actor_id: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    time_nano: int = 0

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "Type": self.type,
            "Action": self.action,
            "Actor": {"ID": self.actor_id, "Attributes": dict(self.attributes)},
            "scope": "local",
            "time": self.time_nano // 1_000_000_000,
            "timeNano": self.time_nano,
        }
        if self.type == "container":
            # The pre-1.22 fields docker-py and old clients still read.
            doc["status"] = self.action
            doc["id"] = self.actor_id
            doc["from"] = self.attributes.get("image", "")
        return doc


def matches(event: Event, filters: Filters) -> bool:
    if "type" in filters and event.type not in filters["type"]:
        return False
    if "event" in filters and event.action not in filters["event"]:
        return False
    if "scope" in filters and "local" not in filters["scope"]:
        return False
    for kind in ("network", "container", "image", "volume"):
        if kind not in filters:
            continue
        wanted = filters[kind]
        ids: tuple[str, ...]
        if event.type == kind:
            ids = (event.actor_id, event.attributes.get("name", ""))
        elif kind == "container":
            ids = (event.attributes.get("container", ""),)
        else:
            return False
        if not any(w and (w in ids or event.actor_id.startswith(w)) for w in wanted):
            return False
    return not ("label" in filters and not match_labels(filters["label"], event.attributes))


class EventBus:
    def __init__(self, loop: asyncio.AbstractEventLoop, history: int = 1024) -> None:
        self._loop = loop
        self._queues: set[asyncio.Queue[Event]] = set()
        self.history: deque[Event] = deque(maxlen=history)

    def publish(self, event: Event) -> None:
        """Safe from any thread."""
        if not event.time_nano:
            event = Event(event.type, event.action, event.actor_id, event.attributes,
                          time.time_ns())
        self._loop.call_soon_threadsafe(self._deliver, event)

    def _deliver(self, event: Event) -> None:
        self.history.append(event)
        for queue in self._queues:
            queue.put_nowait(event)

    def subscribe(self) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        self._queues.discard(queue)

    @property
    def listeners(self) -> int:
        return len(self._queues)


class EngineEvents:
    """An engine listener turning committed changes into network events.

    It keeps the previous snapshot: a disconnect or destroy is reported after the rows
    are gone, so names and drivers come from the state before the change."""

    def __init__(self, bus: EventBus, initial: State) -> None:
        self._bus = bus
        self._last = initial

    def __call__(self, what: str, object_id: str, state: State) -> None:
        before, self._last = self._last, state
        kind, _, action = what.partition(".")
        if what == "sandbox.destroy":
            # A container's sandbox goes (it stopped, or was removed) with its endpoints:
            # Docker reports a disconnect from each of its networks.
            for gone in before.endpoints:
                if gone.sandbox_id == object_id:
                    self._publish_endpoint("disconnect", gone, before)
            return
        if kind != "network":
            return
        if action in ("create", "destroy"):
            network = state.network_by_id(object_id) or before.network_by_id(object_id)
            if network is not None:
                self._bus.publish(Event("network", action, network.id,
                                        {"name": network.name, "type": network.driver}))
            return
        endpoint = next((e for e in (*state.endpoints, *before.endpoints)
                         if e.id == object_id), None)
        if endpoint is not None:
            self._publish_endpoint(action, endpoint, state, before)

    def _publish_endpoint(self, action: str, endpoint: Endpoint, *states: State) -> None:
        network = next((n for s in states if (n := s.network_by_id(endpoint.network_id))),
                       None)
        if network is not None:
            self._bus.publish(Event("network", action, network.id, {
                "container": endpoint.sandbox_id, "name": network.name,
                "type": network.driver}))
