"""The values ``dockyard compose plan`` produces: what ``up`` would build, as frozen data.

Everything here is derived from a loaded ``Project`` and Docker's IPAM rules; nothing is
created. Addresses are strings so the plan renders as text or JSON without conversion.
Network fields named ``network`` hold the compose key (``back-tier``); ``network_name``
holds the engine's name (``prometheus-grafana_back-tier``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NetworkPlan:
    """One top-level network. ``created`` is False for external networks (they must exist)
    and for networks no service uses (compose drops them before ``up``)."""

    key: str
    name: str
    driver: str
    external: bool
    internal: bool
    created: bool
    subnet: str | None
    gateway: str | None
    subnet_source: str
    """Why this subnet: ``ipam config``, ``default pool``, or why it is unknown."""
    ipv6_subnet: str | None = None
    ipv6_gateway: str | None = None
    services: tuple[str, ...] = ()
    parent: str | None = None
    """A macvlan network's ``driver_opts.parent`` (None: one of the network's own)."""


@dataclass(frozen=True)
class Attachment:
    """One interface of a container: one network, one address, the names it registers."""

    network: str
    network_name: str
    ipv4_address: str | None
    ipv6_address: str | None
    dns_names: tuple[str, ...]
    """What others on this network resolve to this address: container name, service name,
    then the per-network aliases, as compose registers them."""
    static: bool = False
    default_route: bool = False


@dataclass(frozen=True)
class ResolvedName:
    """A name one container can resolve, and the addresses it answers with (several for a
    scaled service or a shared alias; empty when only the engine knows them)."""

    name: str
    addresses: tuple[str, ...]
    network: str
    kind: str
    """``container``, ``service``, ``alias``, ``link``, ``external_link`` or ``extra_hosts``."""
    target: str
    """The service (or outside container) the name belongs to."""


@dataclass(frozen=True)
class ContainerPlan:
    name: str
    service: str
    number: int
    attachments: tuple[Attachment, ...]
    default_route: str | None
    """Network key of the interface holding the default route, or None."""
    resolves: tuple[ResolvedName, ...]


@dataclass(frozen=True)
class PublishedPort:
    host_ip: str
    """``0.0.0.0`` stands for every host address (IPv4 and IPv6), as Docker binds them."""
    host_port: str
    """A number, ``random`` (a lone port), or ``one of A-B`` (a host range)."""
    container_port: int
    protocol: str

    @property
    def random(self) -> bool:
        return self.host_port == "random"

    def describe(self) -> str:
        host = f"[{self.host_ip}]" if ":" in self.host_ip else self.host_ip
        return f"{host}:{self.host_port} -> {self.container_port}/{self.protocol}"


@dataclass(frozen=True)
class ExposedPort:
    port: int
    protocol: str

    def describe(self) -> str:
        return f"{self.port}/{self.protocol}"


@dataclass(frozen=True)
class MountPlan:
    kind: str
    """``named``, ``anonymous``, ``bind``, ``tmpfs`` or another mount type as written."""
    target: str
    source: str | None
    """Volume resource name, host path, or None for anonymous volumes and tmpfs."""
    read_only: bool = False
    external: bool = False


@dataclass(frozen=True)
class ServicePlan:
    name: str
    image: str | None
    network_mode: str | None
    """None for ordinary networking; else ``host``, ``none``, ``bridge``, ``service:x``,
    ``container:x`` as written."""
    containers: tuple[ContainerPlan, ...]
    published: tuple[PublishedPort, ...]
    exposed_only: tuple[ExposedPort, ...]
    mounts: tuple[MountPlan, ...]
    problems: tuple[str, ...] = ()
    """What ``up`` would trip over or silently ignore for this service."""


@dataclass(frozen=True)
class VolumePlan:
    key: str
    name: str
    external: bool
    created: bool
    services: tuple[str, ...]


@dataclass(frozen=True)
class Reach:
    """Can ``source``'s containers reach ``target``'s by name?"""

    source: str
    target: str
    reachable: bool
    networks: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class HostReach:
    """Can the host (or another machine) reach ``service`` through published ports?"""

    service: str
    reachable: bool
    ports: tuple[PublishedPort, ...]
    reason: str


@dataclass(frozen=True)
class Plan:
    project: str
    networks: tuple[NetworkPlan, ...]
    """In the order ``up`` creates them (see ``network_creation_order``)."""
    volumes: tuple[VolumePlan, ...]
    services: tuple[ServicePlan, ...]
    """In ``up`` order: dependencies first."""
    reachability: tuple[Reach, ...]
    host_access: tuple[HostReach, ...]
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def service(self, name: str) -> ServicePlan:
        return next(s for s in self.services if s.name == name)

    def network(self, key: str) -> NetworkPlan:
        return next(n for n in self.networks if n.key == key)

    def reach(self, source: str, target: str) -> Reach:
        return next(r for r in self.reachability if r.source == source and r.target == target)

    def container(self, name: str) -> ContainerPlan:
        return next(c for s in self.services for c in s.containers if c.name == name)
