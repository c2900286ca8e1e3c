"""Which endpoint gives a sandbox each family's default route (pure)."""

from __future__ import annotations

from dockyard.engine.gateway import default_routes, gateway_endpoint
from dockyard.model.endpoint import Endpoint
from dockyard.model.network import Network, Pool
from dockyard.plan import Route

V4 = Pool("172.18.0.0/16", "172.18.0.1")
V6 = Pool("fd00:66::/64", "fd00:66::1")


def net(name: str, *pools: Pool, internal: bool = False) -> Network:
    return Network(id=name * 8, name=name, driver="bridge", created="", pools=pools,
                   internal=internal)


def endpoint(network: Network, ifname: str, v4: str | None, v6: str | None,
             priority: int = 0) -> Endpoint:
    return Endpoint(id=ifname * 8, network_id=network.id, sandbox_id="s", name="c",
                    ifname=ifname, host_ifname="", mac="", ipv4=v4, ipv6=v6,
                    gw_priority=priority)


def test_each_family_is_chosen_apart_so_an_ipv6_only_network_gives_the_ipv6_route() -> None:
    four, six = net("aaa", V4), net("bbb", V6)
    endpoints = [endpoint(four, "eth0", "172.18.0.2/16", None),
                 endpoint(six, "eth1", None, "fd00:66::2/64")]
    networks = {n.id: n for n in (four, six)}
    assert default_routes(endpoints, networks) == (Route("172.18.0.1", "eth0"),
                                                   Route("fd00:66::1", "eth1"))
    assert gateway_endpoint(endpoints[1:], networks) is None
    assert gateway_endpoint(endpoints[1:], networks, 6) == endpoints[1]


def test_a_dual_stack_network_still_wins_both_over_single_stack_ones() -> None:
    dual, four = net("zzz", V4, V6), net("aaa", Pool("172.19.0.0/16", "172.19.0.1"))
    endpoints = [endpoint(four, "eth0", "172.19.0.2/16", None),
                 endpoint(dual, "eth1", "172.18.0.2/16", "fd00:66::2/64")]
    networks = {n.id: n for n in (dual, four)}
    assert default_routes(endpoints, networks) == (Route("172.18.0.1", "eth1"),
                                                   Route("fd00:66::1", "eth1"))
    # ... unless another network's gw-priority is higher
    endpoints[0] = endpoint(four, "eth0", "172.19.0.2/16", None, priority=1)
    assert default_routes(endpoints, networks) == (Route("172.19.0.1", "eth0"),
                                                   Route("fd00:66::1", "eth1"))
