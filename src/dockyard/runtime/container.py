"""Containers as values: what was asked (:class:`ContainerSpec`), what is stored
(:class:`Container`, with its :class:`RunState`), as JSON documents for the store."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dockyard.runtime.health import HealthConfig, config_from_doc

ZERO_TIME = "0001-01-01T00:00:00Z"
CONTAINER_KIND = "container"

# Status values, as Docker names them in State.Status.
CREATED = "created"
RUNNING = "running"
RESTARTING = "restarting"
EXITED = "exited"
REMOVING = "removing"
STARTING = "starting"  # ours: between "start" and the process running; shown as created


@dataclass(frozen=True)
class ContainerSpec:
    """A create request (``docker create``'s flags, already split into values)."""

    image: str
    name: str | None = None
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    env: tuple[str, ...] = ()
    workdir: str = ""
    user: str = ""
    hostname: str = ""
    domainname: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    stop_signal: str = ""
    stop_timeout: int | None = None
    expose: tuple[str, ...] = ()  # --expose values
    network_mode: str = "bridge"
    publish: tuple[str, ...] = ()  # -p values
    publish_all: bool = False
    binds: tuple[str, ...] = ()  # -v values
    mounts: tuple[str, ...] = ()  # --mount values
    volumes: tuple[str, ...] = ()  # Config.Volumes: an anonymous volume at each path
    restart: str = "no"
    auto_remove: bool = False
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # --network-alias
    ipv4: str | None = None  # --ip
    ipv6: str | None = None  # --ip6
    mac: str | None = None  # --mac-address, on the network the container is created on
    gw_priority: int = 0  # that network's claim to the default route (higher wins)
    healthcheck: HealthConfig | None = None  # None: the image's
    # stdin and terminal (Config.Tty, OpenStdin, StdinOnce, Attach*; HostConfig.ConsoleSize)
    tty: bool = False
    open_stdin: bool = False
    stdin_once: bool = False
    attach_stdin: bool = False
    attach_stdout: bool = False
    attach_stderr: bool = False
    console_size: tuple[int, int] = (0, 0)  # (rows, cols) of the terminal at start
    memory: int = 0  # -m, bytes; 0: no limit
    memory_swap: int = 0  # --memory-swap: memory + swap, bytes; -1: unlimited swap
    init: bool | None = None  # --init (HostConfig.Init); None: the daemon's default, none
    sysctls: tuple[str, ...] = ()  # --sysctl KEY=VALUE: the network namespace's (net.*)
    tmpfs: tuple[str, ...] = ()  # --tmpfs PATH[:OPTIONS]
    read_only: bool = False  # --read-only: the root filesystem
    group_add: tuple[str, ...] = ()  # --group-add: names or numbers
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()



@dataclass(frozen=True)
class MountPoint:
    type: str  # bind | volume | tmpfs
    source: str  # host path (a volume's _data directory for volumes)
    target: str
    read_only: bool = False
    name: str = ""  # volume name
    anonymous: bool = False


@dataclass(frozen=True)
class Attachment:
    """A network the container is to be on, kept while it is stopped."""

    network: str
    aliases: tuple[str, ...] = ()
    ipv4: str | None = None  # static (--ip)
    ipv6: str | None = None
    mac: str | None = None  # the interface's, as given (--mac-address); None: derived
    gw_priority: int = 0  # --gw-priority: the highest gives the default route
    last_ipv4: str | None = None  # given back on restart when still free
    last_ipv6: str | None = None


@dataclass(frozen=True)
class RunState:
    status: str = CREATED
    pid: int = 0
    pid_start: int | None = None  # /proc start time: the pid's identity
    exit_code: int = 0
    error: str = ""
    started_at: str = ZERO_TIME
    finished_at: str = ZERO_TIME
    restart_count: int = 0
    manually_stopped: bool = False
    backoff: float = 0.0
    started_mono: float = 0.0  # CLOCK_BOOTTIME seconds at start, for the back-off reset
    runtime: str = ""  # what started it last ("runc", "dyrun"); "" in older documents: runc
    paused: bool = False  # frozen (status stays RUNNING: it still runs, as Docker's Running)
    oom_killed: bool = False  # the kernel's OOM killer took one of its processes last run

    @property
    def running(self) -> bool:
        return self.status == RUNNING


@dataclass(frozen=True)
class Container:
    id: str
    name: str
    created: str
    image_id: str
    image_ref: str
    path: str
    args: tuple[str, ...]
    env: tuple[str, ...]
    workdir: str
    user: str
    hostname: str
    domainname: str
    labels: Mapping[str, str]
    stop_signal: str
    stop_timeout: int | None
    exposed: tuple[str, ...]  # "80/tcp", image's and --expose
    cmd: tuple[str, ...] | None
    entrypoint: tuple[str, ...] | None
    spec: ContainerSpec
    mounts: tuple[MountPoint, ...] = ()
    networks: tuple[Attachment, ...] = ()
    state: RunState = RunState()
    healthcheck: HealthConfig | None = None  # the container's merged over the image's

    @property
    def argv(self) -> tuple[str, ...]:
        return (self.path, *self.args)

    def with_state(self, **changes: Any) -> Container:
        return replace(self, state=replace(self.state, **changes))

    def to_doc(self) -> dict[str, Any]:
        # By hand rather than dataclasses.asdict, whose deep copy cost ~0.7 ms a save
        # (five saves a start); every leaf here is immutable, so nothing is shared.
        doc = _fields(self)
        doc["labels"] = dict(self.labels)
        doc["spec"] = {**_fields(self.spec), "labels": dict(self.spec.labels),
                       "healthcheck": _health_doc(self.spec.healthcheck)}
        doc["healthcheck"] = _health_doc(self.healthcheck)
        doc["mounts"] = [_fields(m) for m in self.mounts]
        doc["networks"] = [_fields(a) for a in self.networks]
        doc["state"] = _fields(self.state)
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Container:
        def tup(value: Any) -> tuple[str, ...] | None:
            return None if value is None else tuple(value)

        spec_doc = dict(doc["spec"])
        for key, value in spec_doc.items():
            if isinstance(value, list):
                spec_doc[key] = tuple(value)
        spec_doc["healthcheck"] = config_from_doc(spec_doc.get("healthcheck"))
        return cls(
            id=doc["id"], name=doc["name"], created=doc["created"],
            image_id=doc["image_id"], image_ref=doc["image_ref"], path=doc["path"],
            args=tuple(doc["args"]), env=tuple(doc["env"]), workdir=doc["workdir"],
            user=doc["user"], hostname=doc["hostname"], domainname=doc["domainname"],
            labels=dict(doc["labels"]), stop_signal=doc["stop_signal"],
            stop_timeout=doc["stop_timeout"], exposed=tuple(doc["exposed"]),
            cmd=tup(doc["cmd"]), entrypoint=tup(doc["entrypoint"]),
            spec=ContainerSpec(**spec_doc),
            mounts=tuple(MountPoint(**m) for m in doc["mounts"]),
            networks=tuple(
                Attachment(**{**a, "aliases": tuple(a["aliases"])}) for a in doc["networks"]),
            state=RunState(**doc["state"]),
            healthcheck=config_from_doc(doc.get("healthcheck")),
        )


def _fields(obj: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, one level deep."""
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def _health_doc(config: HealthConfig | None) -> dict[str, Any] | None:
    return None if config is None else config.to_docker()
