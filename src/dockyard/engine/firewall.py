"""State → the firewall's input → nftables scripts (pure), and the step that applies them.

The engine keeps the :class:`FirewallState` it last applied in the store, so a change can be
applied as element adds/deletes on the live table (about a millisecond) instead of a full
table replacement (tens of milliseconds).
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, ip_address, ip_network
from typing import Any

from dockyard import plan
from dockyard.engine.gateway import gateway_endpoint
from dockyard.engine.state import State
from dockyard.errors import InvalidParameter
from dockyard.ipam.parse import stored_address, stored_network
from dockyard.model.network import OPT_HOST_BINDING_IPV4
from dockyard.nft import (
    FirewallNetwork,
    FirewallState,
    PortForward,
    render_ruleset,
    render_update,
)
from dockyard.nft.model import IPAddress
from dockyard.portmap import to_port_forwards

_EMPTY = FirewallState()


@dataclass(frozen=True)
class ApplyFirewallState(plan.ApplyFirewall):
    """An :class:`ApplyFirewall` that also says which state the table has once it is applied,
    so the engine can record it; the kernel treats it as a plain ApplyFirewall."""

    state: FirewallState = _EMPTY
    table: str = ""  # the whole table once applied, as render_ruleset gives it


def firewall_state(state: State) -> FirewallState:
    bridges = [n for n in state.networks if n.driver == "bridge" and n.state != "creating"]
    networks = tuple(
        FirewallNetwork(
            bridge=n.device,
            subnets=tuple(stored_network(p.subnet) for p in n.pools),
            internal=n.internal,
            icc=n.icc,
            masquerade=n.masquerade,
            gateway_v4=stored_address(p4.gateway) if (p4 := n.pool_v4()) else None,  # type: ignore[arg-type]
        )
        for n in sorted(bridges, key=lambda n: n.device)
    )
    by_id = {n.id: n for n in bridges}
    forwards = []
    for sandbox in state.sandboxes:
        if not sandbox.ports:
            continue
        mine = state.endpoints_of_sandbox(sandbox.id)
        # an IPv6-only container's ports go to its IPv6 address
        chosen = gateway_endpoint(mine, by_id) or gateway_endpoint(mine, by_id, 6)
        if chosen is None:
            continue
        network = by_id[chosen.network_id]
        addresses: list[IPAddress] = [
            stored_address(a) for a in (chosen.ipv4_address, chosen.ipv6_address) if a
        ]
        default_ip = network.options.get(OPT_HOST_BINDING_IPV4)
        for binding in sandbox.ports:
            if binding.host_ip is None and default_ip and default_ip not in ("0.0.0.0", "::"):
                # The network's com.docker.network.bridge.host_binding_ipv4: where ports
                # published without an address are bound, as Docker does.
                binding = replace(binding, host_ip=default_ip)
            forwards.extend(to_port_forwards(binding, addresses, network.device))
    return FirewallState(networks=networks, ports=tuple(forwards))


def render(state: State) -> str:
    return render_ruleset(firewall_state(state))


def to_doc(fw: FirewallState) -> dict[str, Any]:
    """``fw`` as JSON-able data, for the store; :func:`from_doc` reads it back."""
    return {
        "networks": [
            {
                "bridge": n.bridge,
                "subnets": [str(s) for s in n.subnets],
                "internal": n.internal,
                "icc": n.icc,
                "masquerade": n.masquerade,
                "gateway_v4": None if n.gateway_v4 is None else str(n.gateway_v4),
            }
            for n in fw.networks
        ],
        "ports": [
            {
                "proto": p.proto,
                "host_ip": None if p.host_ip is None else str(p.host_ip),
                "host_port": p.host_port,
                "container_ip": str(p.container_ip),
                "container_port": p.container_port,
                "bridge": p.bridge,
            }
            for p in fw.ports
        ],
    }


def from_doc(doc: dict[str, Any]) -> FirewallState:
    """Read back :func:`to_doc`'s output; raises InvalidParameter on anything malformed."""
    try:
        networks = tuple(
            FirewallNetwork(
                bridge=n["bridge"],
                subnets=tuple(ip_network(s) for s in n["subnets"]),
                internal=bool(n["internal"]),
                icc=bool(n["icc"]),
                masquerade=bool(n["masquerade"]),
                gateway_v4=_v4(n["gateway_v4"]),
            )
            for n in doc["networks"]
        )
        ports = tuple(
            PortForward(
                proto=p["proto"],
                host_ip=None if p["host_ip"] is None else ip_address(p["host_ip"]),
                host_port=p["host_port"],
                container_ip=ip_address(p["container_ip"]),
                container_port=p["container_port"],
                bridge=p["bridge"],
            )
            for p in doc["ports"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidParameter(f"invalid stored firewall state: {exc}") from exc
    return FirewallState(networks=networks, ports=ports)


def _v4(value: str | None) -> IPv4Address | None:
    if value is None:
        return None
    addr = ip_address(value)
    if not isinstance(addr, IPv4Address):
        raise ValueError(f'gateway_v4 "{value}" is not an IPv4 address')
    return addr


def firewall_step(
    applied: dict[str, Any] | None, recorded: dict[str, Any] | None, new: FirewallState,
    known: tuple[str, FirewallState] | None = None,
) -> ApplyFirewallState | None:
    """The step taking the table from what the store says is applied to ``new``.

    ``applied`` is the ``firewall/applied`` record (the full script, also written by
    reconcile); ``recorded`` the ``firewall/state`` record, trusted only while it names that
    very script, so a reconcile that re-rendered the table makes us start over with a full
    render. With a trusted state the step is an element delta whose ``previous`` is the
    reverse delta, so :meth:`ApplyFirewall.undo` rolls it back. None when nothing changes.
    ``known``: (script sha256, state) of a record the caller wrote itself, which saves
    parsing the record back while it is still the one stored.
    """
    applied_script = str((applied or {}).get("script", ""))
    old: FirewallState | None = None
    sha = recorded.get("script_sha256") if recorded else None
    if recorded and sha == _sha(applied_script):
        if known is not None and known[0] == sha:
            old = known[1]
        else:
            with contextlib.suppress(InvalidParameter):
                old = from_doc(recorded.get("state") or {})
    if old is not None and old == new:
        return None  # most container starts: no port, no network changes the table
    table = render_ruleset(new)
    if old is None:
        if applied_script == table:
            return None
        return ApplyFirewallState(table, applied_script, state=new, table=table)
    forward = render_update(old, new)
    if not forward:
        return None
    return ApplyFirewallState(forward, render_update(new, old), fallback=table, state=new,
                              table=table)


def records(step: ApplyFirewallState) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``firewall/applied`` and ``firewall/state`` records once ``step`` is applied."""
    return (
        {"script": step.table},
        {"state": to_doc(step.state), "script_sha256": _sha(step.table)},
    )


def _sha(script: str) -> str:
    return hashlib.sha256(script.encode()).hexdigest()
