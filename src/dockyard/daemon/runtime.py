"""The daemon's container runtime: the manager, opened at start and closed (containers
left running) at shutdown, and told to report every state it saves (for events)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from dockyard.api.backend import Backend
from dockyard.api.container_events import ExitEvents
from dockyard.api.events import Event
from dockyard.api.state_events import StateEvents
from dockyard.runtime import Container, ContainerManager

log = logging.getLogger("dockyard.daemon")


class ObservedManager(ContainerManager):
    """A manager whose state saves are also handed to ``observers``, and whose removals
    to ``on_removed``.

    Every state change goes through ``_save`` and every removal ends in ``_removed`` (an
    AutoRemove's too); the runtime has no public listener hook yet, so this is where exits
    and removals become visible the moment they are recorded."""

    observers: list[Callable[[Container], None]]
    on_removed: Callable[[Container], None] | None = None

    def _removed(self, c: Container) -> None:
        if self.on_removed is not None:
            try:
                self.on_removed(c)
            except Exception:
                log.exception("container removal observer failed")

    def _save(self, c: Container, *, with_name: bool = False) -> Container:
        saved = super()._save(c, with_name=with_name)
        for observer in getattr(self, "observers", ()):
            try:
                observer(saved)
            except Exception:  # an observer's bug must not break a container's lifecycle
                log.exception("container observer failed")
        return saved


def open_runtime(backend: Backend) -> ContainerManager:
    """Adopt running containers, settle the ones that died while no daemon ran (their
    restart policy applies, and each gets its ``die`` event), start the stopped ones
    whose policy says so (``always``, ``unless-stopped``), and hand the manager to the
    API."""
    manager = ObservedManager(backend.engine, backend.images, root=backend.root,
                              exec_root=backend.exec_root, runtime=backend.runtime,
                              default_init=backend.default_init)
    exits = ExitEvents(backend.events)
    states = StateEvents(backend.events)  # before exits: Docker's oom comes before die
    manager.observers = [states, exits]
    manager.on_removed = lambda c: backend.events.publish(Event(
        "container", "destroy", c.id, {**c.labels, "image": c.image_ref, "name": c.name}))
    backend.extra["exits"] = exits

    def health_event(container_id: str, status: str) -> None:
        try:
            name = manager.get(container_id).name
        except Exception:  # removed meanwhile: the event still names the id
            name = ""
        backend.events.publish(Event("container", f"health_status: {status}", container_id,
                                     {"name": name}))

    manager.on_health_status = health_event
    for c in manager.containers():  # so that an exit found by open() is reported as die
        exits.remember(c)
        states.remember(c)
    manager.open()
    _start_by_policy(manager, backend)
    backend.containers = manager
    every = manager.containers()
    log.info("container runtime ready: %d containers, %d running", len(every),
             sum(1 for c in every if c.state.status == "running"))
    return manager


def _start_by_policy(manager: ContainerManager, backend: Backend) -> None:
    """A refused start (its port taken meanwhile, say) is logged, and the daemon starts
    anyway, as Docker's does."""
    for c, error in manager.start_with_daemon():
        if error is not None:
            log.warning("container %s (restart policy %s) not started: %s", c.name,
                        c.spec.restart, error)
            continue
        backend.events.publish(Event("container", "start", c.id, {
            **c.labels, "image": c.image_ref, "name": c.name}))
