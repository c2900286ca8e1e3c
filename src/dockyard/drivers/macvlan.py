"""The macvlan driver: each endpoint is a macvlan link on the network's parent interface,
so a container sits on the parent's layer-2 segment with a MAC of its own, beside the
host rather than behind it (no bridge, no NAT, no published ports).

The parent, as Docker picks it (``-o parent=``):

- an interface of the host's, used as it is and never deleted;
- ``IFACE.VLAN`` where only ``IFACE`` exists: an 802.1Q link is made, and deleted with
  the network;
- none given, or ``--internal``: a link of the network's own (``dym`` + 12 hex of its
  id), so its containers reach each other and nothing else. Docker makes a ``dummy``
  there; this is a bridge with no ports, which isolates the same way and needs no dummy
  driver (kernels built without CONFIG_DUMMY, as this project's VMs, still have it).

Two macvlan networks never share a parent, as in Docker. The kernel's rule that the host
cannot talk to its own macvlan children through the parent holds here too.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from dockyard import plan
from dockyard.drivers.bridge import check_mtu
from dockyard.errors import Conflict, InvalidParameter
from dockyard.model.endpoint import Endpoint
from dockyard.model.ids import validate_ifname
from dockyard.model.network import Network
from dockyard.model.sandbox import Sandbox

OPT_PARENT = "parent"
OPT_MODE = "macvlan_mode"
MODES = ("bridge", "private", "vepa", "passthru")
DUMMY_PREFIX = "dym"  # ours, not Docker's dm-: reconcile removes leftovers by prefix


def dummy_name(network_id: str) -> str:
    return f"{DUMMY_PREFIX}{network_id[:12]}"


def choose_parent(network_id: str, options: dict[str, str], internal: bool,
                  host_links: Collection[str], networks: Iterable[Network]) -> tuple[str, bool]:
    """The parent interface for a new macvlan network, and whether the driver makes it."""
    parent = options.get(OPT_PARENT, "")
    if not parent or internal:
        return dummy_name(network_id), True
    for other in networks:
        if other.driver == "macvlan" and other.device == parent:
            raise Conflict(f"network {other.name} is already using parent interface {parent}")
    if parent in host_links:
        return parent, False
    lower, dot, vlan = parent.rpartition(".")
    if dot and lower in host_links:
        if not vlan.isdigit() or not 1 <= int(vlan) <= 4094:
            raise InvalidParameter(f"vlan id must be between 1-4094, received: {vlan}")
        return parent, True
    raise InvalidParameter(f"-o parent interface was not found on the host: {parent}")


class MacvlanDriver:
    name = "macvlan"
    needs_ipam = True
    user_creatable = True
    has_interface = True
    host_side = False  # the endpoint's only interface is inside the sandbox

    def validate_options(self, options: dict[str, str]) -> None:
        mode = options.get(OPT_MODE)
        if mode is not None and mode not in MODES:
            raise InvalidParameter(f"requested macvlan mode '{mode}' is not valid, 'bridge' "
                                   "mode is the macvlan driver default")
        if options.get(OPT_PARENT):
            validate_ifname(f"option {OPT_PARENT}", options[OPT_PARENT])
        check_mtu(options)

    def plan_create(self, network: Network) -> list[plan.Step]:
        if not network.made_device:
            return []
        lower, dot, vlan = network.device.rpartition(".")
        if network.device.startswith(DUMMY_PREFIX) or not dot:
            return [plan.CreateParentLink(network.device, "bridge")]
        return [plan.CreateParentLink(network.device, "vlan", lower, int(vlan))]

    def plan_delete(self, network: Network) -> list[plan.Step]:
        return [plan.DeleteLink(network.device)] if network.made_device else []

    def plan_join(self, network: Network, endpoint: Endpoint, sandbox: Sandbox) -> list[plan.Step]:
        return [plan.CreateMacvlan(
            parent=network.device,
            mode=network.options.get(OPT_MODE) or "bridge",
            netns=sandbox.netns,
            ifname=endpoint.ifname,
            mac=endpoint.mac,
            addresses=tuple(a for a in (endpoint.ipv4, endpoint.ipv6) if a),
            mtu=network.mtu,
        )]

    def plan_leave(self, network: Network, endpoint: Endpoint, sandbox: Sandbox) -> list[plan.Step]:
        if not sandbox.netns:
            return []
        return [plan.DeleteLink(endpoint.ifname, netns=sandbox.netns)]
