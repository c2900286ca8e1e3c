"""The bridge driver: a Linux bridge per network, a veth pair per endpoint."""

from __future__ import annotations

from ipaddress import ip_network

from dockyard import plan
from dockyard.errors import InvalidParameter
from dockyard.model.endpoint import Endpoint
from dockyard.model.ids import validate_ifname
from dockyard.model.network import (
    OPT_BRIDGE_NAME,
    OPT_DEFAULT_BRIDGE,
    OPT_ENABLE_ICC,
    OPT_ENABLE_MASQ,
    OPT_HOST_BINDING_IPV4,
    OPT_MTU,
    Network,
)
from dockyard.model.sandbox import Sandbox

_BOOL_OPTIONS = (OPT_ENABLE_ICC, OPT_ENABLE_MASQ, OPT_DEFAULT_BRIDGE)
_BOOL_WORDS = ("1", "0", "true", "false", "yes", "no", "on", "off")
KNOWN_OPTIONS = (*_BOOL_OPTIONS, OPT_BRIDGE_NAME, OPT_HOST_BINDING_IPV4, OPT_MTU,
                 "com.docker.network.bridge.inhibit_ipv4",
                 "com.docker.network.container_iface_prefix")


def check_mtu(options: dict[str, str]) -> None:
    """Docker's ``com.docker.network.driver.mtu``, for every driver that takes it: 68 to
    65535, or 0 for the default."""
    mtu = options.get(OPT_MTU)
    if mtu is not None and (not mtu.isdigit() or not (0 <= int(mtu) <= 65535)
                            or 0 < int(mtu) < 68):
        raise InvalidParameter(f'invalid option {OPT_MTU}="{mtu}": expected 68..65535')


class BridgeDriver:
    name = "bridge"
    needs_ipam = True
    user_creatable = True
    has_interface = True
    host_side = True

    def validate_options(self, options: dict[str, str]) -> None:
        for key in _BOOL_OPTIONS:
            value = options.get(key)
            if value is not None and value.strip().lower() not in _BOOL_WORDS:
                raise InvalidParameter(f'invalid option {key}="{value}": expected true or false')
        if OPT_BRIDGE_NAME in options:
            validate_ifname(OPT_BRIDGE_NAME, options[OPT_BRIDGE_NAME])
        check_mtu(options)
        binding = options.get(OPT_HOST_BINDING_IPV4)
        if binding is not None:
            try:
                ip_network(binding)
            except ValueError:
                raise InvalidParameter(
                    f'invalid option {OPT_HOST_BINDING_IPV4}="{binding}": not an IP address'
                ) from None

    def plan_create(self, network: Network) -> list[plan.Step]:
        addresses = tuple(
            f"{pool.gateway}/{ip_network(pool.subnet).prefixlen}" for pool in network.pools
        )
        return [
            plan.CreateBridge(network.device, addresses, network.mtu),
            # Lets DNAT'ed packets from 127.0.0.1 leave through the bridge; the firewall's
            # masquerade then gives them the gateway address (published ports on localhost).
            plan.Sysctl(f"net/ipv4/conf/{network.device}/route_localnet", "1"),
        ]

    def plan_delete(self, network: Network) -> list[plan.Step]:
        return [plan.DeleteLink(network.device)]

    def plan_join(self, network: Network, endpoint: Endpoint, sandbox: Sandbox) -> list[plan.Step]:
        addresses = tuple(a for a in (endpoint.ipv4, endpoint.ipv6) if a)
        return [
            plan.CreateVeth(
                host_ifname=endpoint.host_ifname,
                master=network.device,
                peer_netns=sandbox.netns,
                peer_ifname=endpoint.ifname,
                mac=endpoint.mac,
                addresses=addresses,
                mtu=network.mtu,
            )
        ]

    def plan_leave(self, network: Network, endpoint: Endpoint, sandbox: Sandbox) -> list[plan.Step]:
        # Deleting the host end removes the pair, and with it the sandbox's routes via it.
        return [plan.DeleteLink(endpoint.host_ifname, peer_netns=sandbox.netns or None,
                                peer_ifname=endpoint.ifname)]
