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
    endpoints: list[Endpoint], networks: dict[str, Network], family: int = 4
) -> Endpoint | None:
    """The endpoint that gives the default route of ``family`` (4 or 6): chosen for each
    family apart, as Docker 28 does, so an IPv6-only network can give the IPv6 one."""
    candidates = [
        e for e in endpoints
        if e.network_id in networks
        and not networks[e.network_id].internal
        # no gateway on an overlay here (Docker's comes from docker_gwbridge)
        and networks[e.network_id].driver != "overlay"
        and (networks[e.network_id].pool_v4() if family == 4
             else networks[e.network_id].pool_v6()) is not None
        and (e.ipv4 if family == 4 else e.ipv6)
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
    routes: list[Route | None] = []
    for family in (4, 6):
        chosen = gateway_endpoint(endpoints, networks, family)
        pool = None if chosen is None else (networks[chosen.network_id].pool_v4() if family == 4
                                            else networks[chosen.network_id].pool_v6())
        routes.append(Route(pool.gateway, chosen.ifname) if chosen and pool else None)
    return routes[0], routes[1]
