"""``dockyard compose plan``: what ``up`` would build, computed without creating anything.

Docker has no such command; it answers the seed's open questions (``expose`` vs ``ports``, a
lone port or volume, a service on several networks) by showing them for the user's own
project. ``plan_project`` is pure: a loaded ``Project`` plus the subnets already in use and
the host's routes in, a frozen ``Plan`` out. Subnets and addresses come from
``dockyard.ipam`` — the same functions the engine uses — so a fresh host gets what is shown.

Order, which decides every subnet and address:

* Networks are created in ``network_creation_order``: networks whose ``ipam`` names a subnet
  first (so a default-pool pick never takes a range the file asks for), then the others, each
  group by compose key. Docker Compose v2 walks a Go map here, so on Docker the pairing of
  subnets to networks can change from one ``up`` to the next; Dockyard fixes it.
* Containers get addresses in ``up`` order: ``Project.service_order()`` (dependencies first,
  ties by name), replicas 1..N, and within a container its networks in compose's connect order
  (``priority`` descending, then key). Docker's IPAM hands out the lowest free address.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from ipaddress import ip_network

from dockyard.compose.errors import SyntaxFormError
from dockyard.compose.model import NetworkConfig, Project, Service, ServiceNetwork
from dockyard.compose.plan_model import (
    Attachment,
    ContainerPlan,
    ExposedPort,
    HostReach,
    MountPlan,
    NetworkPlan,
    Plan,
    PublishedPort,
    Reach,
    ResolvedName,
    ServicePlan,
    VolumePlan,
)
from dockyard.compose.plan_notes import project_notes
from dockyard.compose.plan_render import plan_to_dict, plan_to_json, render_plan_text
from dockyard.errors import DockyardError, InvalidParameter
from dockyard.ipam import (
    DEFAULT_BRIDGE_SUBNET,
    IPAddress,
    IPNetwork,
    PoolConfig,
    allocate,
    make_pool,
)
from dockyard.portmap import parse_expose

__all__ = [
    "network_creation_order",
    "plan_project",
    "plan_to_dict",
    "plan_to_json",
    "render_plan_text",
]

EXTERNAL_SUBNET = "external, not created; subnet unknown"
UNUSED_NETWORK = "used by no service, so up does not create it"


def used_networks(project: Project) -> set[str]:
    return {n.network for s in project.services.values() for n in s.networks}


def _has_subnet(network: NetworkConfig) -> bool:
    return network.ipam is not None and any(p.subnet for p in network.ipam.config)


def network_creation_order(project: Project) -> tuple[str, ...]:
    """Keys of the networks ``up`` creates, in creation order (see the module docstring)."""
    used = used_networks(project)
    keys = [k for k, n in project.networks.items() if not n.external and k in used]
    return tuple(sorted(keys, key=lambda k: (not _has_subnet(project.networks[k]), k)))


def _rewrap(err: DockyardError, prefix: str) -> DockyardError:
    """The same kind of error, with where it happened in front."""
    return type(err)(f"{prefix}: {err.message}")


@dataclass(frozen=True)
class _Pools:
    v4: PoolConfig | None
    v6: PoolConfig | None


def _pool_for(
    key: str, network: NetworkConfig, version: int, existing: list[IPNetwork],
    host_routes: Sequence[IPNetwork],
) -> PoolConfig | None:
    configs = [p for p in (network.ipam.config if network.ipam else ())
               if p.subnet and ip_network(p.subnet, strict=False).version == version]
    if version == 6 and not configs:
        return None  # the engine picks an IPv6 subnet only when asked; shown as unknown
    if version == 4 and network.enable_ipv4 is False:
        return None  # an IPv6-only network
    cfg = configs[0] if configs else None
    try:
        return make_pool(
            cfg.subnet if cfg else None,
            cfg.gateway if cfg else None,
            cfg.ip_range if cfg else None,
            dict(cfg.aux_addresses) if cfg else {},
            existing=existing,
            host_routes=host_routes,
        )
    except DockyardError as e:
        raise _rewrap(e, f'network "{key}"') from e


def _plan_networks(
    project: Project, existing: list[IPNetwork], host_routes: Sequence[IPNetwork]
) -> tuple[list[NetworkPlan], dict[str, _Pools]]:
    users: dict[str, list[str]] = {}
    for name in project.service_order():
        for att in project.services[name].networks:
            users.setdefault(att.network, []).append(name)
    plans: list[NetworkPlan] = []
    pools: dict[str, _Pools] = {}
    for key in network_creation_order(project):
        net = project.networks[key]
        for cfg in net.ipam.config if net.ipam else ():
            if cfg.subnet:
                _check_cidr(key, cfg.subnet)
        v4 = _pool_for(key, net, 4, existing, host_routes)
        v6 = _pool_for(key, net, 6, existing, host_routes)
        pools[key] = _Pools(v4, v6)
        existing.extend(p.subnet for p in (v4, v6) if p is not None)
        plans.append(NetworkPlan(
            key=key, name=net.name, driver=net.driver or "bridge", external=False,
            internal=net.internal, created=True,
            subnet=str(v4.subnet) if v4 else None, gateway=str(v4.gateway) if v4 else None,
            subnet_source="ipam config" if _has_subnet(net) else "default pool",
            ipv6_subnet=str(v6.subnet) if v6 else None,
            ipv6_gateway=str(v6.gateway) if v6 else None,
            services=tuple(users.get(key, ())),
            parent=net.driver_opts.get("parent") or None if net.driver == "macvlan" else None,
        ))
    for key in sorted(k for k in project.networks if k not in pools):
        net = project.networks[key]
        plans.append(NetworkPlan(
            key=key, name=net.name, driver=net.driver or "bridge", external=net.external,
            internal=net.internal, created=False, subnet=None, gateway=None,
            subnet_source=EXTERNAL_SUBNET if net.external else UNUSED_NETWORK,
            services=tuple(users.get(key, ())),
        ))
    return plans, pools


def _check_cidr(key: str, subnet: str) -> None:
    try:
        ip_network(subnet, strict=False)
    except ValueError as e:
        raise InvalidParameter(f'network "{key}": invalid subnet "{subnet}": {e}') from e


def _default_route(project: Project, networks: Sequence[ServiceNetwork]) -> str | None:
    """Docker's rule: highest gw_priority, then a non-internal network, then the engine
    network name; internal networks have no gateway route at all."""
    candidates = [n for n in networks if not project.networks[n.network].internal]
    if not candidates:
        return None
    best = min(candidates, key=lambda n: (-n.gw_priority, project.networks[n.network].name))
    return best.network


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _allocate_one(
    pool: PoolConfig, in_use: list[IPAddress], requested: str | None, where: str
) -> str:
    try:
        address = allocate(pool, in_use, requested)
    except DockyardError as e:
        raise _rewrap(e, where) from e
    in_use.append(address)
    return str(address)


def _plan_attachments(
    project: Project, pools: Mapping[str, _Pools]
) -> dict[str, list[tuple[str, int, tuple[Attachment, ...], str | None]]]:
    """Per service, its containers as (name, number, attachments, default route)."""
    in_use: dict[tuple[str, int], list[IPAddress]] = {}
    result: dict[str, list[tuple[str, int, tuple[Attachment, ...], str | None]]] = {}
    for svc_name in project.service_order():
        svc = project.services[svc_name]
        containers = result.setdefault(svc_name, [])
        for number in range(1, svc.replicas + 1):
            cname = svc.container_name_for(project.name, number)
            if svc.network_mode is not None:
                containers.append((cname, number, (), None))
                continue
            route = _default_route(project, svc.networks)
            atts: list[Attachment] = []
            for sn in svc.networks:
                net = project.networks[sn.network]
                where = f'service "{svc_name}" container "{cname}" on network "{sn.network}"'
                v4 = v6 = None
                if sn.network in pools:
                    p = pools[sn.network]
                    if p.v4 is not None:
                        v4 = _allocate_one(p.v4, in_use.setdefault((sn.network, 4), []),
                                           sn.ipv4_address, where)
                    if p.v6 is not None:
                        v6 = _allocate_one(p.v6, in_use.setdefault((sn.network, 6), []),
                                           sn.ipv6_address, where)
                else:  # external: the engine knows the subnet; a static address is as given
                    v4, v6 = sn.ipv4_address, sn.ipv6_address
                atts.append(Attachment(
                    network=sn.network, network_name=net.name, ipv4_address=v4,
                    ipv6_address=v6, dns_names=_unique([cname, svc_name, *sn.aliases]),
                    static=sn.ipv4_address is not None or sn.ipv6_address is not None,
                    default_route=sn.network == route,
                ))
            containers.append((cname, number, tuple(atts), route))
    return result


@dataclass(frozen=True)
class _Entry:
    name: str
    kind: str
    service: str
    address: str | None


def _registry(
    containers: Mapping[str, list[tuple[str, int, tuple[Attachment, ...], str | None]]],
    order: Sequence[str],
) -> dict[str, list[_Entry]]:
    """Per network key, every name registered there, in ``up`` order."""
    reg: dict[str, list[_Entry]] = {}
    for svc_name in order:
        for cname, _n, atts, _r in containers[svc_name]:
            for att in atts:
                entries = reg.setdefault(att.network, [])
                for name in att.dns_names:
                    kind = ("service" if name == svc_name
                            else "container" if name == cname else "alias")
                    entries.append(_Entry(name, kind, svc_name, att.ipv4_address))
    return reg


def _resolves(
    project: Project,
    svc: Service,
    atts: Sequence[Attachment],
    reg: Mapping[str, list[_Entry]],
    problems: list[str],
) -> tuple[ResolvedName, ...]:
    found: dict[str, ResolvedName] = {}
    for att in atts:  # the embedded DNS answers from the first of our networks that knows it
        by_name: dict[str, list[_Entry]] = {}
        for entry in reg.get(att.network, ()):
            by_name.setdefault(entry.name, []).append(entry)
        for name, entries in by_name.items():
            if name in found:
                continue
            addrs = _unique(e.address for e in entries if e.address)
            targets = ",".join(_unique(e.service for e in entries))
            found[name] = ResolvedName(name, addrs, att.network, entries[0].kind, targets)
    for link in svc.links:
        target, _, alias = link.partition(":")
        alias = alias or target
        shared = [a.network for a in atts if any(e.service == target for e in reg[a.network])]
        if not shared:
            problems.append(f'links to "{target}" but shares no network with it: the name '
                            f'"{alias}" will not resolve')
            continue
        if alias in found and found[alias].target == target:
            continue
        addrs = _unique(e.address for e in reg[shared[0]]
                        if e.service == target and e.kind == "service" and e.address)
        found[alias] = ResolvedName(alias, addrs, shared[0], "link", target)
    for link in svc.external_links:
        target, _, alias = link.partition(":")
        found.setdefault(alias or target,
                         ResolvedName(alias or target, (), "", "external_link", target))
    for host, address in svc.extra_hosts:
        found.setdefault(host, ResolvedName(host, (address,), "", "extra_hosts", "/etc/hosts"))
    return tuple(found[k] for k in sorted(found))


def _published(svc: Service) -> tuple[PublishedPort, ...]:
    out: list[PublishedPort] = []
    for p in svc.ports:
        if p.published in (None, "", "0"):
            host_port = "random"
        elif "-" in p.published:
            host_port = f"one of {p.published}"
        else:
            host_port = p.published
        out.append(PublishedPort(p.host_ip or "0.0.0.0", host_port, p.target, p.protocol))
    return tuple(out)


def _exposed_only(svc: Service) -> tuple[ExposedPort, ...]:
    published = {(p.target, p.protocol) for p in svc.ports}
    out: list[ExposedPort] = []
    for idx, spec in enumerate(svc.expose):
        try:
            parsed = parse_expose(str(spec))
        except InvalidParameter as e:
            raise SyntaxFormError(e.message, path=("services", svc.name, "expose", idx)) from e
        for port in parsed:
            if (port.port, port.proto) not in published:
                out.append(ExposedPort(port.port, port.proto))
    return _unique_ports(out)


def _unique_ports(ports: Iterable[ExposedPort]) -> tuple[ExposedPort, ...]:
    return tuple(dict.fromkeys(ports))


def _mounts(project: Project, svc: Service) -> tuple[MountPlan, ...]:
    out: list[MountPlan] = []
    for v in svc.volumes:
        if v.named and v.source is not None:
            vol = project.volumes.get(v.source)
            out.append(MountPlan("named", v.target, vol.name if vol else v.source,
                                 v.read_only, bool(vol and vol.external)))
        elif v.anonymous:
            out.append(MountPlan("anonymous", v.target, None, v.read_only))
        else:
            out.append(MountPlan(v.type, v.target, v.source, v.read_only))
    return tuple(out)


def _service_problems(svc: Service, published: Sequence[PublishedPort],
                      project_name: str) -> list[str]:
    problems: list[str] = []
    mode = svc.network_mode
    if mode == "host" and published:
        problems.append("ports are discarded with network_mode host: the service listens on "
                        "the host's addresses directly")
    elif mode and mode.split(":", 1)[0] in ("service", "container") and published:
        problems.append(f"Docker refuses to publish ports with network_mode {mode} "
                        "(conflicting options); publish them on the namespace's owner")
    if svc.replicas > 1:
        for p in published:
            if p.host_port.isdigit():
                problems.append(
                    f"host port {p.host_port}/{p.protocol} can be bound by one container only: "
                    f"replicas 2..{svc.replicas} fail with \"port is already allocated\"")
    if svc.build is not None:
        image = svc.image or f"{project_name}-{svc.name}"
        problems.append(f"build: up builds image {image} from {svc.build.context} when it is "
                        "missing (up --build or compose build: always), with the classic "
                        "builder; FROM images must be imported or built already")
    return problems


@dataclass(frozen=True)
class _Mode:
    kind: str  # networks | host | none | bridge | container | other
    owner: str  # the service whose namespace this is (itself unless service:x)
    detail: str = ""


def _mode(project: Project, name: str) -> _Mode:
    seen: set[str] = set()
    current = name
    while True:
        mode = project.services[current].network_mode
        if mode is None:
            return _Mode("networks", current)
        kind, _, arg = mode.partition(":")
        if kind == "service" and arg in project.services and arg not in seen:
            seen.add(current)
            current = arg
            continue
        if kind in ("host", "none", "bridge"):
            return _Mode(kind, current)
        if kind == "container":
            return _Mode("container", current, arg)
        return _Mode("other", current, mode)


def _reach(project: Project, source: str, target: str, published: Mapping[str, bool]) -> Reach:
    s, t = _mode(project, source), _mode(project, target)

    def no(reason: str) -> Reach:
        return Reach(source, target, False, (), reason)

    def yes(reason: str, networks: tuple[str, ...] = ()) -> Reach:
        return Reach(source, target, True, networks, reason)

    if s.kind == "none":
        return no(f"{source} has network_mode none")
    if t.kind == "none":
        return no(f"{target} has network_mode none")
    if s.owner == t.owner:
        return yes("same network namespace: localhost")
    for side, m in ((source, s), (target, t)):
        if m.kind == "container":
            return no(f"unknown: {side} shares the namespace of container {m.detail}, "
                      "outside the project")
        if m.kind == "other":
            return no(f"unknown: {side} has network_mode {m.detail}")
    if s.kind == "host" and t.kind == "host":
        return yes("both use the host's network stack: localhost")
    if s.kind == "host":
        if published[t.owner]:
            return yes(f"only through {target}'s published ports on the host "
                       "(no service names on network_mode host)")
        return no(f"{source} uses network_mode host (no service names) and {target} "
                  "publishes no port")
    if t.kind == "host":
        return yes(f"{target} listens on the host: connect to the gateway address of "
                   f"{source}'s network (no DNS name)")
    if s.kind == "bridge" or t.kind == "bridge":
        if s.kind == t.kind:
            return yes("both on the default bridge: by IP address only (no embedded DNS)")
        return no("no shared network (one is on the default bridge)")
    s_nets = [n.network for n in project.services[s.owner].networks]
    t_nets = {n.network for n in project.services[t.owner].networks}
    shared = tuple(n for n in s_nets if n in t_nets)
    if shared:
        return yes("via " + ", ".join(shared), shared)
    return no(f"no shared network ({source}: {', '.join(s_nets)}; "
              f"{target}: {', '.join(sorted(t_nets))})")


def _host_reach(project: Project, plan: ServicePlan, plans: Mapping[str, ServicePlan]) -> HostReach:
    m = _mode(project, plan.name)
    name = plan.name
    if m.kind == "none":
        return HostReach(name, False, (), "network_mode none: no network at all")
    if m.kind == "host":
        return HostReach(name, True, (), "network_mode host: it listens on the host's own "
                         "addresses (ports: does not apply)")
    if m.kind in ("container", "other"):
        return HostReach(name, False, (), f"unknown: network_mode {m.detail}")
    owner = plans[m.owner]
    ports = owner.published
    shared = f" (shares {m.owner}'s namespace)" if m.owner != name else ""
    if not ports:
        why = "nothing published"
        if plan.exposed_only:
            why += ("; its expose-only ports are reachable from containers on shared "
                    "networks, not from the host's ports")
        return HostReach(name, False, (), why + shared)
    svc = project.services[m.owner]
    if m.kind == "networks" and all(project.networks[n.network].internal for n in svc.networks):
        return HostReach(name, False, ports, "its networks are all internal: Docker programs "
                         "no port forwarding for them")
    if m.kind == "networks" and all(project.networks[n.network].driver == "macvlan"
                                    for n in svc.networks):
        return HostReach(name, False, ports, "its networks are all macvlan: ports are not "
                         "forwarded there; machines on the parent's segment reach it at its "
                         "own address")
    route = next((c.default_route for c in owner.containers if c.default_route), None)
    via = f", forwarded to its address on {route}" if route else ""
    return HostReach(name, True, ports, f"through published ports{via}{shared}")


def plan_project(
    project: Project,
    *,
    existing_subnets: Iterable[IPNetwork | str] = (DEFAULT_BRIDGE_SUBNET,),
    host_routes: Iterable[IPNetwork | str] = (),
) -> Plan:
    """What ``up`` would build for ``project`` on a host whose networks hold
    ``existing_subnets`` (the default ``bridge`` network's 172.17.0.0/16 on a fresh host) and
    whose routing table has ``host_routes``.

    Raises the IPAM's errors (InvalidParameter, Conflict, Forbidden, Unavailable) with the
    network, service and container they concern: they are what ``up`` would fail with.
    """
    existing = [ip_network(s, strict=False) if isinstance(s, str) else s
                for s in existing_subnets]
    routes = [ip_network(r, strict=False) if isinstance(r, str) else r for r in host_routes]
    networks, pools = _plan_networks(project, existing, routes)
    order = project.service_order()
    containers = _plan_attachments(project, pools)
    reg = _registry(containers, order)

    services: dict[str, ServicePlan] = {}
    for svc_name in order:
        svc = project.services[svc_name]
        published = _published(svc)
        problems = _service_problems(svc, published, project.name)
        cplans: list[ContainerPlan] = []
        mode = _mode(project, svc_name)
        for cname, number, atts, route in containers[svc_name]:
            if mode.kind == "networks" and mode.owner != svc_name:  # service:x
                owner_atts = containers[mode.owner][0][2]
                resolves = _resolves(project, svc, owner_atts, reg, problems)
            else:
                resolves = _resolves(project, svc, atts, reg, problems)
            cplans.append(ContainerPlan(cname, svc_name, number, atts, route, resolves))
        services[svc_name] = ServicePlan(
            name=svc_name, image=svc.image, network_mode=svc.network_mode,
            containers=tuple(cplans), published=published, exposed_only=_exposed_only(svc),
            mounts=_mounts(project, svc), problems=_unique(problems),
        )

    has_ports = {n: bool(p.published) for n, p in services.items()}
    reach = tuple(_reach(project, a, b, has_ports) for a in order for b in order if a != b)
    host = tuple(_host_reach(project, services[n], services) for n in order)
    volume_users: dict[str, list[str]] = {}
    for n in order:
        for v in project.services[n].volumes:
            if v.named and v.source:
                volume_users.setdefault(v.source, []).append(n)
    volumes = tuple(
        VolumePlan(k, v.name, v.external, not v.external and k in volume_users,
                   _unique(volume_users.get(k, ())))
        for k, v in project.volumes.items()
    )
    plan = Plan(
        project=project.name, networks=tuple(networks), volumes=volumes,
        services=tuple(services.values()), reachability=reach, host_access=host,
        warnings=project.warnings,
    )
    return replace(plan, notes=project_notes(plan))
