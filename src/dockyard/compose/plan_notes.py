"""The "Notes" of a plan: the seed's open questions, answered with this project's own facts.

Each note appears only when the project has the case it explains, and names the services,
ports, paths and addresses involved, so the answer is about the user's file rather than a
general lecture.
"""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.compose.plan_model import Plan, ServicePlan

_MAX_EXAMPLES = 4


def _some(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_MAX_EXAMPLES])
    more = len(items) - _MAX_EXAMPLES
    return shown + (f" and {more} more" if more > 0 else "")


def _expose_note(plan: Plan) -> str | None:
    exposed = [s for s in plan.services if s.exposed_only]
    if not exposed:
        return None
    first = exposed[0]
    port = first.exposed_only[0]
    nets = [a.network for c in first.containers[:1] for a in c.attachments]
    where = f" (from any container on {', '.join(nets)})" if nets else ""
    examples = [f"{s.name} {', '.join(p.describe() for p in s.exposed_only)}" for s in exposed]
    published = [s for s in plan.services if s.published]
    contrast = ""
    if published:
        p = published[0]
        contrast = (f" `ports` adds a forwarding rule from the host, e.g. {p.name}: "
                    f"{p.published[0].describe()}.")
    return (
        "expose vs ports: `expose` only declares a port; nothing is opened on the host. "
        "Containers on a shared network reach it anyway (Docker does not filter ports between "
        f"them): e.g. {first.name}:{port.port}{where}. Expose-only here: {_some(examples)}."
        f"{contrast} A port listed under both is simply published."
    )


def _lone_port_note(plan: Plan) -> str | None:
    lone = [f"{s.name} {p.container_port}/{p.protocol}"
            for s in plan.services for p in s.published if p.random]
    if not lone:
        return None
    return (
        f'lone ports: a port with no host part (like "{lone[0].split()[1].split("/")[0]}") '
        "is published on a random free host port, on every host address; the engine picks it "
        "at `up` from the ephemeral range and picks again when the container is recreated, so "
        f"look it up afterwards (`dockyard compose ps`). Here: {_some(lone)}."
    )


def _lone_volume_note(plan: Plan) -> str | None:
    anon = [f"{s.name} {m.target}" for s in plan.services for m in s.mounts
            if m.kind == "anonymous"]
    if not anon:
        return None
    named = [v for v in plan.volumes if v.created]
    contrast = ""
    if named:
        contrast = (f" A named volume such as {named[0].name} is created once and shared by "
                    "every service that names it.")
    return (
        "lone volumes: a path with no source (like "
        f"{anon[0].split(' ', 1)[1]}) mounts an anonymous volume: a new volume with a random "
        "name for each container, seen by no other service, carried over when `up` recreates "
        f"the container and deleted by `down -v`. Here: {_some(anon)}.{contrast}"
    )


def _multi_network_note(service: ServicePlan) -> str | None:
    container = service.containers[0] if service.containers else None
    if container is None or len(container.attachments) < 2:
        return None
    addresses = ", ".join(f"{a.ipv4_address or 'engine-assigned'} on {a.network}"
                          for a in container.attachments)
    nets = [a.network for a in container.attachments]
    route = container.default_route
    route_text = (f"the default route goes via {route}" if route
                  else "there is no default route (all its networks are internal)")
    return (
        f"several networks: {service.name} is on {', '.join(nets)}. Its container "
        f"{container.name} gets one interface and one address per network ({addresses}). "
        "It resolves and reaches services on each of them and is reachable from each, but "
        "does not route between them: a container on only one of these networks still cannot "
        f"reach the others' services. Of its interfaces, {route_text}: Docker picks the "
        "highest gw_priority, then a non-internal network, then the network name; published "
        "ports are forwarded to the address on that network."
    )


def _macvlan_note(plan: Plan) -> str | None:
    macvlans = [n for n in plan.networks if n.created and n.driver == "macvlan"]
    if not macvlans:
        return None
    net = macvlans[0]
    users = f" ({_some(list(net.services))})" if net.services else ""
    if net.parent is None or net.internal:
        return (
            f"macvlan without a parent: {net.key} gets a segment of its own; its containers"
            f"{users} reach each other by name and address, and nothing else: no host, no "
            "outside, no published ports."
        )
    return (
        f"macvlan: {net.key} puts its containers{users} straight onto {net.parent}'s "
        f"segment, each with a MAC and an address of its own (from {net.subnet}), so "
        f"machines on that segment reach them directly and `ports` are not forwarded there. "
        f"The host itself cannot reach them through {net.parent}: the kernel keeps a "
        "macvlan parent and its children apart."
    )


def _host_note(plan: Plan) -> str | None:
    created = [n for n in plan.networks if n.created and n.subnet and n.driver == "bridge"]
    if not created:
        return None
    return (
        "from the host: besides published ports, the host itself can reach every container "
        f"address directly (e.g. {created[0].subnet} through its bridge); other machines only "
        "see published ports."
    )


def project_notes(plan: Plan) -> tuple[str, ...]:
    notes = [_expose_note(plan), _lone_port_note(plan), _lone_volume_note(plan)]
    notes += [_multi_network_note(s) for s in plan.services]
    notes += [_macvlan_note(plan), _host_note(plan)]
    return tuple(n for n in notes if n)
