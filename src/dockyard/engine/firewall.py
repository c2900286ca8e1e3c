"""State → the firewall's input → one nftables script (pure)."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

from dockyard.engine.gateway import gateway_endpoint
from dockyard.engine.state import State
from dockyard.nft import FirewallNetwork, FirewallState, render_ruleset
from dockyard.nft.model import IPAddress
from dockyard.portmap import to_port_forwards


def firewall_state(state: State) -> FirewallState:
    bridges = [n for n in state.networks if n.driver == "bridge" and n.state != "creating"]
    networks = tuple(
        FirewallNetwork(
            bridge=n.device,
            subnets=tuple(ip_network(p.subnet) for p in n.pools),
            internal=n.internal,
            icc=n.icc,
            masquerade=n.masquerade,
            gateway_v4=ip_address(p4.gateway) if (p4 := n.pool_v4()) else None,  # type: ignore[arg-type]
        )
        for n in sorted(bridges, key=lambda n: n.device)
    )
    by_id = {n.id: n for n in bridges}
    forwards = []
    for sandbox in state.sandboxes:
        if not sandbox.ports:
            continue
        chosen = gateway_endpoint(state.endpoints_of_sandbox(sandbox.id), by_id)
        if chosen is None:
            continue
        network = by_id[chosen.network_id]
        addresses: list[IPAddress] = [
            ip_address(a) for a in (chosen.ipv4_address, chosen.ipv6_address) if a
        ]
        for binding in sandbox.ports:
            forwards.extend(to_port_forwards(binding, addresses, network.device))
    return FirewallState(networks=networks, ports=tuple(forwards))


def render(state: State) -> str:
    return render_ruleset(firewall_state(state))
