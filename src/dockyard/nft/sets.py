"""What goes into the named sets and maps of our table, computed from :class:`FirewallState`.

The rules of ``inet dockyard`` never change; every per-network and per-port fact lives in
the elements of these sets and maps. That is what makes a change cheap: the kernel adds set
elements to a live table in about a millisecond, where replacing the table (or deleting
rules) makes its commit wait for an RCU grace period, tens of milliseconds.

An element is a ``(key, value)`` pair of nft syntax; ``value`` is None for plain sets. Keys
are unique within a map (a map cannot hold two values for one key), so when two forwards
claim the same key the first in sort order wins, as the first matching rule used to.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dockyard.nft.model import FirewallNetwork, FirewallState, PortForward

Element = tuple[str, str | None]
Contents = Mapping[str, frozenset[Element]]


@dataclass(frozen=True)
class SetDecl:
    name: str
    type: str  # the nft "type" clause, e.g. "ifname . ipv4_addr"
    is_map: bool = False
    interval: bool = False


# Declaration order is rendering order; every set exists even when empty, so the rules that
# reference them always load.
DECLS: tuple[SetDecl, ...] = (
    SetDecl("bridges", "ifname"),
    SetDecl("internal", "ifname"),
    SetDecl("no_icc", "ifname"),
    SetDecl("same_bridge", "ifname . ifname"),
    SetDecl("ports4_host", "ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service",
            is_map=True),
    SetDecl("ports4_any", "inet_proto . inet_service : ipv4_addr . inet_service", is_map=True),
    SetDecl("ports6_host", "ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service",
            is_map=True),
    SetDecl("ports6_any", "inet_proto . inet_service : ipv6_addr . inet_service", is_map=True),
    SetDecl("localhost_snat", "ifname : ipv4_addr", is_map=True),
    SetDecl("localhost_masq", "ifname"),
    SetDecl("hairpin4", "ifname . ipv4_addr", interval=True),
    SetDecl("hairpin6", "ifname . ipv6_addr", interval=True),
    SetDecl("masq4", "ipv4_addr", interval=True),
    SetDecl("masq6", "ipv6_addr", interval=True),
    SetDecl("subnets4", "ifname . ipv4_addr", interval=True),
    SetDecl("subnets6", "ifname . ipv6_addr", interval=True),
)

@functools.lru_cache(maxsize=8)
def contents(state: FirewallState) -> dict[str, frozenset[Element]]:
    """Every set's and map's elements for ``state`` (all declared names present).

    Remembered for the last few states: one change renders the table and the deltas both
    ways, from the same two states. Callers must not change the returned dict."""
    out: dict[str, set[Element]] = {d.name: set() for d in DECLS}
    networks = sorted(state.networks, key=lambda n: n.bridge)
    internal = {n.bridge for n in networks if n.internal}
    ports = published(state.ports, internal)

    for net in networks:
        br = _q(net.bridge)
        out["bridges"].add((br, None))
        if net.internal:
            out["internal"].add((br, None))
        if not net.icc:
            out["no_icc"].add((br, None))
        out["same_bridge"].add((f"{br} . {br}", None))
        for subnet in net.subnets:
            fam = subnet.version
            out[f"subnets{fam}"].add((f"{br} . {subnet}", None))
            if net.masquerade and not net.internal:
                out[f"masq{fam}"].add((str(subnet), None))

    _add_ports(out, ports)
    _add_port_bridges(out, networks, ports)
    return {name: frozenset(elems) for name, elems in out.items()}


def published(ports: Iterable[PortForward], internal: set[str]) -> list[PortForward]:
    """The forwards we can express, sorted and without duplicates.

    Skipped: ports on internal networks (Docker never publishes there), a host address of
    the other family than the container's (that needs a userland proxy; DNAT can't), and
    ``::1``, which the kernel never routes off the host, so a DNAT'd [::1] connection could
    only vanish (Docker serves it with its userland proxy).
    """
    kept = {
        p
        for p in ports
        if p.bridge not in internal
        and (p.host_ip is None or p.host_ip.version == p.container_ip.version)
        and not (p.host_ip is not None and p.host_ip.version == 6 and p.host_ip.is_loopback)
    }
    return sorted(kept, key=_port_key)


def _add_ports(out: dict[str, set[Element]], ports: list[PortForward]) -> None:
    taken: set[tuple[str, str]] = set()
    for p in ports:
        fam = p.container_ip.version
        service = f"{p.proto} . {p.host_port}"
        if p.host_ip is None or p.host_ip.is_unspecified:
            name, key = f"ports{fam}_any", service
        else:
            name, key = f"ports{fam}_host", f"{p.host_ip} . {service}"
        if (name, key) in taken:
            continue  # first in sort order wins, as the first matching rule did
        taken.add((name, key))
        out[name].add((key, f"{p.container_ip} . {p.container_port}"))


def _add_port_bridges(
    out: dict[str, set[Element]], networks: list[FirewallNetwork], ports: list[PortForward]
) -> None:
    by_bridge = {n.bridge: n for n in networks}
    for br in {p.bridge for p in ports if p.container_ip.version == 4}:
        net = by_bridge.get(br)
        if net is not None and net.gateway_v4 is not None:
            out["localhost_snat"].add((_q(br), str(net.gateway_v4)))
        else:
            out["localhost_masq"].add((_q(br), None))
    for br in {p.bridge for p in ports}:
        net = by_bridge.get(br)
        if net is None:
            continue
        for subnet in net.subnets:
            out[f"hairpin{subnet.version}"].add((f"{_q(br)} . {subnet}", None))


def _q(ifname: str) -> str:
    return f'"{ifname}"'


def _port_key(p: PortForward) -> tuple[str, str, int, int, int, int, int, int]:
    host_version = 0 if p.host_ip is None else p.host_ip.version
    host_int = 0 if p.host_ip is None else int(p.host_ip)
    return (
        p.bridge,
        p.proto,
        p.host_port,
        host_version,
        host_int,
        p.container_ip.version,
        int(p.container_ip),
        p.container_port,
    )

