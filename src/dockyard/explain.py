"""``dockyard explain``: who can reach whom among running containers, and why (pure).

Docker's rules, applied to what ``inspect`` shows of each container:

- a container on ``--network none`` reaches nobody and nobody reaches it;
- containers sharing one network namespace (``--network container:X``) reach each
  other on localhost;
- on a shared user-defined network, a container reaches another by name (the embedded
  DNS answers for it there);
- on the default ``bridge`` alone, only by address: it has no embedded DNS;
- the host's namespace (``--network host``) reaches every container by address, and a
  container reaches the host at its gateway;
- with no shared network, nothing gets through: the firewall drops traffic between
  networks.

Each verdict says how to check it from inside the source: a name to resolve, or an
address to ping (``POST /containers/{id}/dockyard-probe``); the CLI runs those checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_BRIDGE = "bridge"


@dataclass(frozen=True)
class Box:
    """A running container as far as reachability goes."""

    name: str
    mode: str  # "networks", "host", "none" or "container"
    owner: str  # whose network namespace it uses (its own name, but for container:X)
    addresses: Mapping[str, str] = field(default_factory=dict)  # network -> IPv4 or IPv6
    gateways: Mapping[str, str] = field(default_factory=dict)  # network -> gateway


@dataclass(frozen=True)
class Verdict:
    source: str
    target: str
    reachable: bool
    reason: str
    probe_name: str = ""  # resolve this from inside the source, then ping what it gives
    probe_address: str = ""  # or ping this


def box_of(doc: Mapping[str, Any], names_by_id: Mapping[str, str]) -> Box:
    """A box from ``GET /containers/{id}/json``; ``names_by_id`` names the containers
    that ``container:<id>`` modes point at."""
    name = str(doc.get("Name", "")).lstrip("/")
    mode = str((doc.get("HostConfig") or {}).get("NetworkMode") or "")
    networks = (doc.get("NetworkSettings") or {}).get("Networks") or {}
    addresses = {net: str(ep.get("IPAddress") or ep.get("GlobalIPv6Address") or "")
                 for net, ep in networks.items() if net not in ("host", "none")}
    gateways = {net: str(ep.get("Gateway") or ep.get("IPv6Gateway") or "")
                for net, ep in networks.items() if net not in ("host", "none")}
    if mode == "host":
        return Box(name, "host", name)
    if mode == "none":
        return Box(name, "none", name)
    if mode.startswith("container:"):
        other = mode.partition(":")[2]
        owner = names_by_id.get(other, other)
        return Box(name, "container", owner)
    return Box(name, "networks", name, addresses, gateways)


def verdicts(boxes: Sequence[Box]) -> list[Verdict]:
    """Every ordered pair of distinct containers."""
    by_name = {b.name: b for b in boxes}
    return [judge(_namespace(a, by_name), a.name, _namespace(b, by_name), b.name)
            for a in boxes for b in boxes if a is not b]


def _namespace(box: Box, by_name: Mapping[str, Box]) -> Box:
    """The box whose namespace ``box`` uses (itself, but for container:X)."""
    return by_name.get(box.owner, box) if box.mode == "container" else box


def judge(a: Box, source: str, b: Box, target: str) -> Verdict:
    """Can ``source`` (in ``a``'s namespace) reach ``target`` (in ``b``'s)?"""
    def no(reason: str, address: str = "") -> Verdict:
        return Verdict(source, target, False, reason, probe_address=address)

    def yes(reason: str, *, name: str = "", address: str = "") -> Verdict:
        return Verdict(source, target, True, reason, name, address)

    if a.mode == "none" or b.mode == "none":
        return no(f"{source if a.mode == 'none' else target} has no network (--network none)")
    if a.name == b.name:
        return yes("same network namespace: localhost")
    if a.mode == "container" or b.mode == "container":
        return no("shares the namespace of a container that is not running")
    if a.mode == "host" and b.mode == "host":
        return yes("both use the host's network stack: localhost")
    if a.mode == "host":
        address = next(iter(b.addresses.values()), "")
        return yes(f"the host reaches {target} at its address (no names on the host)",
                   address=address)
    if b.mode == "host":
        gateway = next((g for g in a.gateways.values() if g), "")
        return yes(f"{target} listens on the host: {source} reaches it at its gateway "
                   f"{gateway or '(none)'}", address=gateway)
    shared_user = [n for n in a.addresses if n in b.addresses and n != DEFAULT_BRIDGE]
    if shared_user and b.name != target:
        # container:X mode: no endpoint of its own, so no name of its own in the DNS
        return yes(f"by {b.name}'s name via {', '.join(shared_user)} ({target} shares "
                   f"{b.name}'s namespace; its own name is not in the DNS)", name=b.name)
    if shared_user:
        return yes(f"by name via {', '.join(shared_user)}", name=target)
    if DEFAULT_BRIDGE in a.addresses and DEFAULT_BRIDGE in b.addresses:
        return yes("both on the default bridge: by address only (no embedded DNS there)",
                   address=b.addresses[DEFAULT_BRIDGE])
    address = next(iter(b.addresses.values()), "")
    return no(f"no shared network ({source}: {', '.join(a.addresses) or 'none'}; "
              f"{target}: {', '.join(b.addresses) or 'none'}): the firewall drops it",
              address)
