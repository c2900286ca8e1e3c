"""The overlay driver: one layer-2 network across hosts, over VXLAN, with static peers.

Docker's overlay needs a swarm (its control plane spreads addresses, MACs and names). Here
there is none: each host's daemon makes the network under the same name, with the other
hosts' underlay addresses as ``-o peers=IP[,IP...]``, and a VXLAN link floods broadcasts
and unknown destinations to each of them, so ARP and MAC learning work as on one switch.

On each host the network is a bridge (``dy-`` + 12 hex of its id, like the bridge
driver's, but with no address: the host is not on the overlay) with the VXLAN link
(``dyo`` + 12 hex) as a port; containers join it by veth, as on a bridge network. What the
hosts must agree on, since nothing coordinates them:

- the VNI: Docker's option ``com.docker.network.driver.overlay.vxlanid_list``, or one
  derived from the network's name (the same name gives the same VNI on every host);
- the addresses: the same ``--subnet`` with a distinct ``--ip-range`` per host (or
  ``--ip``), as IPAM cannot see the other hosts' containers.

Names resolve for containers of the same host only, and the overlay gives no default
route (Docker adds a second network, docker_gwbridge, for that): a container that needs
the outside is connected to a bridge network too. Frames carry 50 bytes of VXLAN, so
interfaces default to an MTU of 1450.
"""

from __future__ import annotations

import zlib
from dataclasses import replace
from ipaddress import ip_address

from dockyard import plan
from dockyard.drivers.bridge import BridgeDriver, check_mtu
from dockyard.errors import InvalidParameter
from dockyard.model.endpoint import Endpoint
from dockyard.model.network import Network
from dockyard.model.sandbox import Sandbox

OPT_PEERS = "peers"
OPT_LOCAL = "local"
OPT_VNI = "com.docker.network.driver.overlay.vxlanid_list"
VXLAN_PREFIX = "dyo"
VXLAN_PORT = 4789  # IANA's, and Docker's default data path port
VXLAN_OVERHEAD = 50
FIRST_VNI = 4096  # Docker's swarm allocates from 4096 up


def vxlan_name(network_id: str) -> str:
    return f"{VXLAN_PREFIX}{network_id[:12]}"


def default_vni(name: str) -> int:
    """The VXLAN id of a network called ``name`` when none is given: the same on every
    host, so that the hosts' networks of one name meet."""
    return FIRST_VNI + zlib.crc32(name.encode()) % ((1 << 24) - FIRST_VNI)


def _mtu(network: Network) -> int:
    return network.mtu or 1500 - VXLAN_OVERHEAD


def _peers(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


class OverlayDriver(BridgeDriver):
    name = "overlay"

    def validate_options(self, options: dict[str, str]) -> None:
        peers = _peers(options.get(OPT_PEERS, ""))
        if not peers:
            raise InvalidParameter(
                "an overlay network needs its peers here: Dockyard has no swarm, so give the "
                "other hosts' addresses as -o peers=IP[,IP...] (the same network name on "
                "each host makes the same VXLAN id)")
        for address in (*peers, *([options[OPT_LOCAL]] if options.get(OPT_LOCAL) else [])):
            try:
                ip_address(address)
            except ValueError:
                raise InvalidParameter(
                    f'invalid overlay option "{address}": peers and local are IP '
                    "addresses") from None
        vni = options.get(OPT_VNI)
        if vni is not None and (not vni.isdigit() or not 1 <= int(vni) < 1 << 24):
            raise InvalidParameter(f'invalid option {OPT_VNI}="{vni}": a VXLAN id is 1 to '
                                   f"{(1 << 24) - 1}")
        check_mtu(options)

    def plan_create(self, network: Network) -> list[plan.Step]:
        mtu = _mtu(network)
        vni = int(network.options.get(OPT_VNI) or default_vni(network.name))
        return [
            plan.CreateBridge(network.device, (), mtu),
            plan.CreateVxlan(vxlan_name(network.id), vni, network.device,
                             _peers(network.options[OPT_PEERS]),
                             network.options.get(OPT_LOCAL) or None, VXLAN_PORT, mtu),
        ]

    def plan_join(self, network: Network, endpoint: Endpoint, sandbox: Sandbox) -> list[plan.Step]:
        # the bridge driver's veth, at the overlay's MTU (room for the VXLAN header)
        return [replace(step, mtu=_mtu(network)) if isinstance(step, plan.CreateVeth) else step
                for step in super().plan_join(network, endpoint, sandbox)]

    def plan_delete(self, network: Network) -> list[plan.Step]:
        return [plan.DeleteLink(vxlan_name(network.id)), plan.DeleteLink(network.device)]
