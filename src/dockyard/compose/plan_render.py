"""A plan as text for people and as JSON for machines (pure string building).

The JSON is the plan's dataclasses as they are (``dataclasses.asdict``), so its keys are the
field names documented in ``plan_model``; the text is laid out to be read top to bottom:
networks, volumes, services with their containers, the names each network answers, who
reaches whom, and the notes.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import asdict
from typing import Any

from dockyard.compose.plan_model import ContainerPlan, Plan, ServicePlan

INDENT = "  "
WIDTH = 100


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    return asdict(plan)


def plan_to_json(plan: Plan) -> str:
    return json.dumps(plan_to_dict(plan), indent=2) + "\n"


def _wrap(text: str, indent: str = INDENT) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent + INDENT * 2,
                         break_on_hyphens=False)


def _networks(plan: Plan) -> list[str]:
    lines = ["Networks (in the order up creates them)"]
    if not plan.networks:
        lines.append(f"{INDENT}none")
    for n in plan.networks:
        head = f"{INDENT}{n.name} ({n.key})"
        if not n.created:
            lines.append(f"{head}: {n.subnet_source}")
            continue
        flags = [f"driver {n.driver}", f"subnet {n.subnet}", f"gateway {n.gateway}"]
        if n.ipv6_subnet:
            flags.append(f"ipv6 {n.ipv6_subnet} gateway {n.ipv6_gateway}")
        flags.append(f"from the {n.subnet_source}")
        if n.internal:
            flags.append("internal: no route out, no published ports")
        lines.append(f"{head}: {', '.join(flags)}")
        lines += _wrap(f"members: {', '.join(n.services) or 'none'}", INDENT * 2)
    return lines


def _volumes(plan: Plan) -> list[str]:
    lines = ["Volumes"]
    if not plan.volumes:
        lines.append(f"{INDENT}no named volumes")
    for v in plan.volumes:
        if v.external:
            state = "external, not created"
        elif v.created:
            state = "named volume, created"
        else:
            state = "used by no service, not created"
        users = f"; used by {', '.join(v.services)}" if v.services else ""
        lines.append(f"{INDENT}{v.name} ({v.key}): {state}{users}")
    return lines


def _container(c: ContainerPlan, service: ServicePlan, plan: Plan) -> list[str]:
    pad = INDENT * 2
    lines = [f"{pad}container {c.name}"]
    mode = service.network_mode
    if mode is not None:
        lines.append(f"{pad}{INDENT}network_mode {mode}: {_mode_text(mode, plan)}")
    for a in c.attachments:
        address = a.ipv4_address or "address chosen by the engine"
        if a.ipv6_address:
            address += f", {a.ipv6_address}"
        extra = " (static)" if a.static else ""
        extra += ", default route" if a.default_route else ""
        lines.append(f"{pad}{INDENT}{a.network_name}: {address}{extra}; "
                     f"registers {', '.join(a.dns_names)}")
    if mode is None and not c.attachments:
        lines.append(f"{pad}{INDENT}no network")
    searched = _searched(c, service, plan)
    if searched:
        lines.append(f"{pad}{INDENT}resolves the names of {', '.join(searched)}"
                     " (see Names below)")
    for r in c.resolves:
        if r.kind in ("link", "external_link", "extra_hosts"):
            addrs = ", ".join(r.addresses) or "known to the engine only"
            lines.append(f"{pad}{INDENT}also resolves {r.name} -> {addrs} ({r.kind} "
                         f"{r.target})")
    return lines


def _searched(c: ContainerPlan, service: ServicePlan, plan: Plan) -> list[str]:
    """The networks whose names this container resolves: its own, or the owner's for
    ``network_mode: service:x``."""
    mode = service.network_mode or ""
    if mode.startswith("service:"):
        owner = next((s for s in plan.services if s.name == mode[8:]), None)
        if owner and owner.containers:
            return [a.network for a in owner.containers[0].attachments]
    return [a.network for a in c.attachments]


def _mode_text(mode: str, plan: Plan) -> str:
    kind, _, arg = mode.partition(":")
    if kind == "host":
        return "the host's own network stack; no interfaces or addresses of its own"
    if kind == "none":
        return "loopback only; no network"
    if kind == "bridge":
        return "Docker's default bridge (172.17.0.0/16), no embedded DNS"
    if kind == "service":
        owner = next((s for s in plan.services if s.name == arg), None)
        if owner and owner.containers:
            first = owner.containers[0]
            addrs = ", ".join(f"{a.ipv4_address} on {a.network}" for a in first.attachments)
            return f"shares the namespace of {first.name} ({addrs or 'no addresses'})"
        return f"shares the namespace of service {arg}"
    if kind == "container":
        return f"shares the namespace of container {arg}, outside the project"
    return "as given to the engine"


def _service(s: ServicePlan, plan: Plan) -> list[str]:
    head = f"{INDENT}{s.name}" + (f" (image {s.image})" if s.image else "")
    lines = [head]
    for c in s.containers:
        lines.extend(_container(c, s, plan))
    pad = INDENT * 2
    for p in s.published:
        lines.append(f"{pad}published {p.describe()}")
    if s.exposed_only:
        ports = ", ".join(p.describe() for p in s.exposed_only)
        lines.append(f"{pad}exposed only {ports}: reachable from containers on shared "
                     "networks, not published")
    for m in s.mounts:
        ro = " (read-only)" if m.read_only else ""
        if m.kind == "named":
            ext = "external " if m.external else ""
            what = f"{ext}named volume {m.source}"
        elif m.kind == "anonymous":
            what = "anonymous volume (one per container)"
        elif m.kind == "bind":
            what = f"bind mount of host path {m.source}"
        else:
            what = f"{m.kind}" + (f" {m.source}" if m.source else "")
        lines.append(f"{pad}volume {m.target}: {what}{ro}")
    for problem in s.problems:
        lines.append(f"{pad}! {problem}")
    return lines


def _names(plan: Plan) -> list[str]:
    """Per network, every name registered on it: what any member resolves there."""
    lines = ["Names (what any container on a network resolves there)"]
    by_net: dict[str, dict[str, tuple[list[str], str]]] = {}
    for s in plan.services:
        for c in s.containers:
            for a in c.attachments:
                names = by_net.setdefault(a.network, {})
                for name in a.dns_names:
                    kind = ("service" if name == s.name
                            else "container" if name == c.name else "alias")
                    addrs, _ = names.setdefault(name, ([], kind))
                    if a.ipv4_address and a.ipv4_address not in addrs:
                        addrs.append(a.ipv4_address)
    if not by_net:
        lines.append(f"{INDENT}none: no container is on a project network")
    for net in (n.key for n in plan.networks):
        registered = by_net.get(net)
        if not registered:
            continue
        lines.append(f"{INDENT}{net}")
        width = max(len(n) for n in registered)
        for name in sorted(registered):
            addrs, kind = registered[name]
            lines.append(f"{INDENT * 2}{name.ljust(width)}  "
                         f"{', '.join(addrs) or 'engine-assigned'}  ({kind})")
    return lines


def _matrix(plan: Plan) -> list[str]:
    names = [s.name for s in plan.services]
    lines = ["Reachability by name (row reaches column)"]
    if len(names) < 2:
        lines.append(f"{INDENT}only one service")
        return lines
    width = max(len(n) for n in names)
    cols = [str(i + 1) for i in range(len(names))]
    lines.append(f"{INDENT}{' ' * (width + 4)}" + " ".join(c.rjust(3) for c in cols))
    for i, src in enumerate(names):
        cells = []
        for dst in names:
            if dst == src:
                cells.append("-")
            else:
                cells.append("yes" if plan.reach(src, dst).reachable else "no")
        lines.append(f"{INDENT}{cols[i].rjust(2)} {src.ljust(width)} "
                     + " ".join(c.rjust(3) for c in cells))
    lines.append("Why")
    for src in names:
        groups: dict[tuple[bool, str], list[str]] = {}
        for r in plan.reachability:
            if r.source == src:
                groups.setdefault((r.reachable, r.reason), []).append(r.target)
        for (ok, reason), targets in groups.items():
            verdict = "yes" if ok else "no"
            lines += _wrap(f"{src} -> {', '.join(targets)}: {verdict}, {reason}")
    return lines


def _host(plan: Plan) -> list[str]:
    lines = ["From the host (published ports)"]
    for h in plan.host_access:
        ports = "; ".join(p.describe() for p in h.ports)
        ports = f" [{ports}]" if ports else ""
        lines += _wrap(f"host -> {h.service}: {'yes' if h.reachable else 'no'}, "
                       f"{h.reason}{ports}")
    return lines


def render_plan_text(plan: Plan) -> str:
    """The plan as ``dockyard compose plan`` prints it."""
    out = [f'Plan for project "{plan.project}": what `dockyard compose up` would build '
           "(nothing is created)", ""]
    out += [*_networks(plan), "", *_volumes(plan), "", "Services (in up order)"]
    for s in plan.services:
        out += _service(s, plan)
    out += ["", *_names(plan), "", *_matrix(plan), "", *_host(plan)]
    out += ["", "Notes"]
    for note in plan.notes:
        out += textwrap.wrap(note, WIDTH, initial_indent=f"{INDENT}- ",
                             subsequent_indent=INDENT * 2, break_on_hyphens=False)
    if not plan.notes:
        out.append(f"{INDENT}none apply")
    return "\n".join(out) + "\n"
