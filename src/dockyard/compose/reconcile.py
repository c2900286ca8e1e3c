"""Desired against observed: what ``up`` must do to each container, and nothing else.

Pure: the input is the project and the ``GET /containers/json`` documents of the project's
containers (their ``com.docker.compose.*`` labels say which service and replica each one
is, and which config it was created from); the output is one action per container. A
container whose ``config-hash`` label matches the service's current hash is kept (or
started if stopped), so running ``up`` twice changes nothing and a changed service is
recreated while the rest stay untouched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from dockyard.compose.model import (
    NUMBER_LABEL,
    ONEOFF_LABEL,
    PROJECT_LABEL,
    SERVICE_LABEL,
    Project,
)
from dockyard.compose.specs import CONFIG_HASH_LABEL, config_hash
from dockyard.errors import InvalidParameter

ActionKind = Literal["create", "recreate", "start", "keep", "remove"]


@dataclass(frozen=True)
class Observed:
    """One project container as the API lists it."""

    id: str
    name: str
    service: str
    number: int
    config_hash: str
    state: str
    oneoff: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.state in ("running", "restarting", "paused")

    @classmethod
    def from_api(cls, doc: Mapping[str, Any]) -> Observed | None:
        """From a ``/containers/json`` (or inspect) document; None when it is no compose
        container."""
        labels = doc.get("Labels")
        if labels is None:
            labels = (doc.get("Config") or {}).get("Labels")
        labels = dict(labels or {})
        if PROJECT_LABEL not in labels or SERVICE_LABEL not in labels:
            return None
        names = doc.get("Names") or [doc.get("Name") or ""]
        state = doc.get("State") or ""
        if isinstance(state, Mapping):
            state = str(state.get("Status", ""))
        try:
            number = int(labels.get(NUMBER_LABEL, "0"))
        except ValueError:
            number = 0
        return cls(id=str(doc.get("Id", "")), name=str(names[0]).lstrip("/"),
                   service=labels[SERVICE_LABEL], number=number,
                   config_hash=labels.get(CONFIG_HASH_LABEL, ""), state=str(state),
                   oneoff=labels.get(ONEOFF_LABEL, "False").lower() == "true", labels=labels)


@dataclass(frozen=True)
class ContainerAction:
    kind: ActionKind
    service: str
    number: int
    name: str
    container_id: str | None = None

    def describe(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Reconciliation:
    actions: tuple[ContainerAction, ...]
    """Services in start order; within a service, replicas by number (removals last)."""
    orphans: tuple[Observed, ...] = ()

    def for_service(self, service: str) -> tuple[ContainerAction, ...]:
        return tuple(a for a in self.actions if a.service == service)

    @property
    def changes(self) -> tuple[ContainerAction, ...]:
        return tuple(a for a in self.actions if a.kind != "keep")


def observe(project_name: str, docs: Iterable[Mapping[str, Any]]) -> list[Observed]:
    """The project's containers among API documents (others, and foreign projects, left
    out)."""
    found = [Observed.from_api(d) for d in docs]
    return [o for o in found if o is not None and o.labels.get(PROJECT_LABEL) == project_name]


def desired_scale(project: Project, scale: Mapping[str, int]) -> dict[str, int]:
    """Replicas per service: ``--scale`` over ``deploy.replicas``; checked against
    ``container_name`` (one name cannot be given to two containers)."""
    for name, n in scale.items():
        if name not in project.services:
            raise InvalidParameter(f'--scale: no such service "{name}"')
        if n < 0:
            raise InvalidParameter(f'--scale {name}={n}: must be 0 or more')
    result = {name: scale.get(name, s.replicas) for name, s in project.services.items()}
    for name, n in result.items():
        if n > 1 and project.services[name].container_name:
            raise InvalidParameter(
                f'services.{name}: container_name "{project.services[name].container_name}" '
                f"cannot be used with {n} replicas (container names must be unique)")
    return result


def reconcile(
    project: Project, observed: Sequence[Observed], *, services: Sequence[str] | None = None,
    scale: Mapping[str, int] | None = None, force_recreate: bool = False,
) -> Reconciliation:
    """The actions bringing ``services`` (default: all, in start order) to the project.

    Per replica number ``1..n``: ``create`` if none exists, ``recreate`` if its config
    hash differs (or ``force_recreate``), ``start`` if it is stopped, else ``keep``.
    Replicas above ``n`` are removed, highest first. Orphans are containers of services
    the project no longer has; removing them is the caller's choice
    (``--remove-orphans``).
    """
    wanted = desired_scale(project, scale or {})
    order = project.service_order()
    chosen = set(services) if services is not None else set(order)
    by_service: dict[str, list[Observed]] = {}
    for each in observed:
        if not each.oneoff:
            by_service.setdefault(each.service, []).append(each)
    actions: list[ContainerAction] = []
    for name in order:
        if name not in chosen:
            continue
        service = project.services[name]
        current = config_hash(service)
        existing = sorted(by_service.get(name, []), key=lambda o: (o.number, o.id))
        by_number: dict[int, Observed] = {}
        extra: list[Observed] = []
        for seen in existing:
            if seen.number in by_number or seen.number < 1:
                extra.append(seen)  # a duplicate number can only be left over: remove it
            else:
                by_number[seen.number] = seen
        count = wanted[name]
        for number in range(1, count + 1):
            target = service.container_name_for(project.name, number)
            obs = by_number.pop(number) if number in by_number else None
            if obs is None:
                actions.append(ContainerAction("create", name, number, target))
            elif force_recreate or obs.config_hash != current or obs.name != target:
                actions.append(ContainerAction("recreate", name, number, target, obs.id))
            elif not obs.running:
                actions.append(ContainerAction("start", name, number, obs.name, obs.id))
            else:
                actions.append(ContainerAction("keep", name, number, obs.name, obs.id))
        leftovers = sorted([*by_number.values(), *extra], key=lambda o: -o.number)
        actions += [ContainerAction("remove", name, o.number, o.name, o.id) for o in leftovers]
    orphans = tuple(sorted((o for o in observed
                            if not o.oneoff and o.service not in project.services),
                           key=lambda o: o.name))
    return Reconciliation(tuple(actions), orphans)


def missing_resources(wanted: Iterable[str], existing: Iterable[str]) -> tuple[str, ...]:
    """Engine names in ``wanted`` (kept in order) that ``existing`` lacks."""
    have = set(existing)
    return tuple(name for name in wanted if name not in have)
