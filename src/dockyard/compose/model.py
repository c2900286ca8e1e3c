"""The normalised compose project: frozen values, every short syntax already expanded.

Units: every duration is an ``int`` of **nanoseconds** (``*_ns`` fields), as Docker's API
takes them. Paths of bind mounts are absolute. Names that compose derives are made
explicit: a service with no ``networks`` and no ``network_mode`` is on ``default``; every
network and volume carries the resource name the engine will use (``<project>_<key>``
unless ``name:`` is given or it is external).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.compose.order import topological_order

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
NUMBER_LABEL = "com.docker.compose.container-number"
NETWORK_LABEL = "com.docker.compose.network"
VOLUME_LABEL = "com.docker.compose.volume"
ONEOFF_LABEL = "com.docker.compose.oneoff"


@dataclass(frozen=True)
class ServicePort:
    """One published port. ``published`` is None when the engine picks a random host port
    (a lone ``"2181"``); it may be a range ``"8000-8010"`` to pick from."""

    target: int
    published: str | None = None
    host_ip: str | None = None
    protocol: str = "tcp"
    mode: str = "ingress"
    name: str | None = None
    app_protocol: str | None = None

    @property
    def random_host_port(self) -> bool:
        return self.published is None

    def key(self) -> tuple[str | None, int, str | None, str]:
        """What makes two entries the same binding when files are merged."""
        return (self.host_ip, self.target, self.published, self.protocol)


@dataclass(frozen=True)
class ServiceVolume:
    """One mount. ``type`` is ``volume`` (named, or anonymous when ``source`` is None),
    ``bind`` (``source`` is an absolute host path), ``tmpfs``, ``npipe``, ``image`` or
    ``cluster``."""

    type: str
    target: str
    source: str | None = None
    read_only: bool = False
    consistency: str | None = None
    create_host_path: bool = False
    propagation: str | None = None
    selinux: str | None = None
    nocopy: bool = False
    subpath: str | None = None
    tmpfs_size: int | str | None = None
    tmpfs_mode: int | None = None

    @property
    def anonymous(self) -> bool:
        return self.type == "volume" and not self.source

    @property
    def named(self) -> bool:
        return self.type == "volume" and bool(self.source)


@dataclass(frozen=True)
class ServiceNetwork:
    """A service's attachment to one project network (``network`` is the key in
    ``Project.networks``, not the engine name)."""

    network: str
    aliases: tuple[str, ...] = ()
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    link_local_ips: tuple[str, ...] = ()
    mac_address: str | None = None
    interface_name: str | None = None
    driver_opts: Mapping[str, str] = field(default_factory=dict)
    priority: int = 0
    gw_priority: int = 0
    declared: bool = True  # False when the network was given in list form / as null

    @property
    def has_settings(self) -> bool:
        return self != ServiceNetwork(self.network, declared=self.declared)


@dataclass(frozen=True)
class Dependency:
    service: str
    condition: str = "service_started"
    required: bool = True
    restart: bool = False


@dataclass(frozen=True)
class Healthcheck:
    """``test`` is the exec form Docker stores (``("CMD-SHELL", "curl -f x")``,
    ``("CMD", "pg_isready")``, ``("NONE",)`` when disabled, ``()`` to inherit the image's)."""

    test: tuple[str, ...] = ()
    interval_ns: int | None = None
    timeout_ns: int | None = None
    start_period_ns: int | None = None
    start_interval_ns: int | None = None
    retries: int | None = None

    @property
    def disabled(self) -> bool:
        return self.test == ("NONE",)


@dataclass(frozen=True)
class Build:
    """A service's ``build`` section: what ``up`` and ``compose build`` send the daemon's
    builder (``options``: the section's other keys, labels and network among them)."""

    context: str
    dockerfile: str | None = None
    args: Mapping[str, str | None] = field(default_factory=dict)
    target: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Service:
    name: str
    image: str | None = None
    build: Build | None = None
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    environment: Mapping[str, str | None] = field(default_factory=dict)
    env_files: tuple[str, ...] = ()
    ports: tuple[ServicePort, ...] = ()
    expose: tuple[str, ...] = ()
    volumes: tuple[ServiceVolume, ...] = ()
    networks: tuple[ServiceNetwork, ...] = ()
    network_mode: str | None = None
    depends_on: tuple[Dependency, ...] = ()
    links: tuple[str, ...] = ()
    external_links: tuple[str, ...] = ()
    extra_hosts: tuple[tuple[str, str], ...] = ()
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_opt: tuple[str, ...] = ()
    hostname: str | None = None
    domainname: str | None = None
    container_name: str | None = None
    working_dir: str | None = None
    user: str | None = None
    restart: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    healthcheck: Healthcheck | None = None
    replicas: int = 1
    stop_grace_period_ns: int | None = None
    stop_signal: str | None = None
    profiles: tuple[str, ...] = ()
    deploy: Mapping[str, Any] | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    """Keys the spec allows that Dockyard does not interpret (cap_add, ulimits, …), kept
    verbatim so ``config`` shows them and the runner can decide."""

    def container_name_for(self, project: str, number: int) -> str:
        """The engine name of replica ``number`` (1-based): ``container_name`` or
        ``<project>-<service>-<n>``."""
        if self.container_name:
            return self.container_name
        return f"{project}-{self.name}-{number}"

    def container_names(self, project: str) -> tuple[str, ...]:
        return tuple(self.container_name_for(project, n) for n in range(1, self.replicas + 1))

    def network(self, key: str) -> ServiceNetwork | None:
        return next((n for n in self.networks if n.network == key), None)

    @property
    def dependencies(self) -> tuple[str, ...]:
        return tuple(d.service for d in self.depends_on)


@dataclass(frozen=True)
class IpamPool:
    subnet: str | None = None
    ip_range: str | None = None
    gateway: str | None = None
    aux_addresses: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Ipam:
    driver: str | None = None
    config: tuple[IpamPool, ...] = ()
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NetworkConfig:
    """A top-level network. ``key`` is how services refer to it; ``name`` is the engine's."""

    key: str
    name: str
    driver: str | None = None
    driver_opts: Mapping[str, str] = field(default_factory=dict)
    ipam: Ipam | None = None
    external: bool = False
    internal: bool = False
    attachable: bool = False
    enable_ipv4: bool | None = None
    enable_ipv6: bool | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VolumeConfig:
    key: str
    name: str
    driver: str | None = None
    driver_opts: Mapping[str, str] = field(default_factory=dict)
    external: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Project:
    name: str
    working_dir: str
    services: Mapping[str, Service]
    networks: Mapping[str, NetworkConfig] = field(default_factory=dict)
    volumes: Mapping[str, VolumeConfig] = field(default_factory=dict)
    environment: Mapping[str, str] = field(default_factory=dict)
    """The variables interpolation used: ``.env``/``--env-file`` overlaid by the process
    environment."""
    warnings: tuple[str, ...] = ()
    compose_files: tuple[str, ...] = ()
    disabled_services: tuple[str, ...] = ()
    """Services left out because none of their profiles is enabled."""
    extras: Mapping[str, Any] = field(default_factory=dict)
    """Top-level keys kept verbatim (secrets, configs, x-*)."""

    def service_order(self) -> tuple[str, ...]:
        """Services in start order: dependencies first, ties broken by name."""
        return topological_order({n: s.dependencies for n, s in self.services.items()})
