"""Which endpoint gives a sandbox its default route (pure).

Docker's order (libnetwork ``Endpoint.Less``): higher gw-priority first, then
non-internal before internal, then dual-stack before single-stack, then the
network name. Internal networks never provide a default route.
"""

from __future__ import annotations

from dockyard.model.endpoint import Endpoint
from dockyard.model.network import Network
from dockyard.plan import Route


def gateway_endpoint(
    endpoints: list[Endpoint], networks: dict[str, Network]
) -> Endpoint | None:
    candidates = [
        e for e in endpoints
        if e.network_id in networks
        and not networks[e.network_id].internal
        # no gateway on an overlay here (Docker's comes from docker_gwbridge)
        and networks[e.network_id].driver != "overlay"
        and networks[e.network_id].pool_v4() is not None
        and e.ipv4
    ]
    if not candidates:
        return None

    def key(e: Endpoint) -> tuple[int, int, str]:
        network = networks[e.network_id]
        dual = 0 if (e.ipv4 and e.ipv6) else 1
        return (-e.gw_priority, dual, network.name)

    return min(candidates, key=key)


def default_routes(
    endpoints: list[Endpoint], networks: dict[str, Network]
) -> tuple[Route | None, Route | None]:
    chosen = gateway_endpoint(endpoints, networks)
    if chosen is None:
        return None, None
    network = networks[chosen.network_id]
    pool4, pool6 = network.pool_v4(), network.pool_v6()
    v4 = Route(pool4.gateway, chosen.ifname) if pool4 and chosen.ipv4 else None
    v6 = Route(pool6.gateway, chosen.ifname) if pool6 and chosen.ipv6 else None
    return v4, v6
