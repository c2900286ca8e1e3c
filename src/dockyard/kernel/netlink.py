"""Links, addresses and routes, one namespace at a time, over ``kernel.rtnl``.

Each function takes an :class:`~dockyard.kernel.rtnl.Rtnl` socket created inside the
namespace it acts on (see ``kernel.ns.open_in_netns``). Deleting what is already gone
counts as success, so teardown and rollback can be repeated safely.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from ipaddress import ip_address
from typing import Any

from dockyard.kernel.rtnl import (
    GONE,
    IFLA_MACVLAN_MODE,
    IFLA_VLAN_ID,
    IFLA_VXLAN_ID,
    IFLA_VXLAN_LOCAL,
    IFLA_VXLAN_PORT,
    MACVLAN_MODES,
    NetlinkError,
    Rtnl,
    attr,
    attr_u32,
)
from dockyard.plan import Route

__all__ = ["NetlinkError", "Rtnl"]


def add_addresses(rtnl: Rtnl, index: int, addresses: tuple[str, ...]) -> None:
    for cidr in addresses:
        rtnl.add_address(index, cidr)


def create_bridge(rtnl: Rtnl, name: str, addresses: tuple[str, ...], mtu: int) -> None:
    # Born up, then given its addresses: one request fewer than setting it up after
    # (~0.1 ms of a network create), and the same bridge in the end.
    rtnl.create_bridge(name, mtu, up=True)
    add_addresses(rtnl, rtnl.require_index(name), addresses)


def delete_link(rtnl: Rtnl, name: str) -> None:
    index = rtnl.link_index(name)
    if index is None:
        return
    try:
        rtnl.delete_link(index)
    except NetlinkError as exc:
        if exc.errno not in GONE:
            raise


def retire_link(rtnl: Rtnl, name: str, tombstone: str | None = None) -> None:
    """Take a link down (and optionally rename it out of the way) before it is deleted."""
    index = rtnl.link_index(name)
    if index is None:
        return
    try:
        rtnl.set_up(index, False)
        if tombstone:
            rtnl.rename(index, tombstone)
    except NetlinkError as exc:
        if exc.errno not in GONE:
            raise


def create_veth(
    rtnl: Rtnl, host_ifname: str, master: str, peer_netns: str, peer_ifname: str, mac: str,
    mtu: int,
) -> None:
    """Create the pair with the peer born inside the sandbox under its final name,
    enslaved and up in the same request."""
    master_index = rtnl.require_index(master)
    fd = os.open(peer_netns, os.O_RDONLY | os.O_CLOEXEC)
    try:
        rtnl.create_veth(host_ifname, master=master_index, peer_name=peer_ifname,
                         peer_netns_fd=fd, peer_mac=mac, mtu=mtu)
    finally:
        os.close(fd)
    # Hairpin: a frame may leave by the port it came in on, so a container reaches its own
    # published port through the host's address (DNAT sends it straight back).
    rtnl.set_bridge_port(rtnl.require_index(host_ifname), hairpin=True)


def create_parent_link(rtnl: Rtnl, name: str, kind: str, lower: str, vlan_id: int) -> None:
    """A macvlan network's parent that the driver makes: a link of ``kind`` with no lower
    one, or an 802.1Q VLAN link on ``lower``; up, since its macvlan children follow its
    state."""
    try:
        if kind == "vlan":
            rtnl.create_link(name, "vlan", lower=rtnl.require_index(lower), up=True,
                             data=attr(IFLA_VLAN_ID, struct.pack("=H", vlan_id)))
        else:
            rtnl.create_link(name, kind, up=True)
    except NetlinkError as exc:
        if exc.errno != errno.EOPNOTSUPP:
            raise
        raise NetlinkError(exc.errno, f"this kernel has no {kind} links (for 802.1Q VLANs: "
                           "CONFIG_VLAN_8021Q); make the parent interface yourself, or "
                           "name an existing one") from None


def create_macvlan(rtnl: Rtnl, parent: str, mode: str, netns: str, ifname: str, mac: str,
                   mtu: int) -> None:
    """A macvlan link on ``parent`` (this socket's namespace), born inside ``netns`` under
    its final name."""
    fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
    try:
        rtnl.create_link(ifname, "macvlan", lower=rtnl.require_index(parent), netns_fd=fd,
                         mac=mac, mtu=mtu,
                         data=attr_u32(IFLA_MACVLAN_MODE, MACVLAN_MODES[mode]))
    finally:
        os.close(fd)


def create_vxlan(rtnl: Rtnl, name: str, vni: int, master: str, peers: tuple[str, ...],
                 local: str | None, port: int, mtu: int) -> None:
    """A VXLAN link enslaved to ``master`` and up, flooding to each of ``peers``."""
    data = attr_u32(IFLA_VXLAN_ID, vni) + attr(IFLA_VXLAN_PORT, struct.pack("!H", port))
    if local:
        data += attr(IFLA_VXLAN_LOCAL, ip_address(local).packed)
    rtnl.create_link(name, "vxlan", mtu=mtu, data=data, up=True,
                     master=rtnl.require_index(master))
    index = rtnl.require_index(name)
    try:
        for peer in peers:
            rtnl.append_flood_entry(index, peer)
    except BaseException:
        rtnl.delete_link(index)
        raise


def configure_interface(rtnl: Rtnl, ifname: str, addresses: tuple[str, ...]) -> None:
    """Address a sandbox's interface and bring it up. Without an IPv6 address (a network
    without IPv6) it gets no IPv6 link-local address either, as Docker disables IPv6 on
    such an endpoint: nothing answers for it, and no DAD or MLD frames are flooded."""
    index = rtnl.require_index(ifname)
    add_addresses(rtnl, index, addresses)
    if not any(":" in cidr for cidr in addresses):
        rtnl.disable_link_local(index)
    rtnl.set_up(index)


def loopback_up(rtnl: Rtnl) -> None:
    rtnl.set_up(rtnl.require_index("lo"))


def set_default_route(rtnl: Rtnl, family: int, route: Route | None) -> None:
    index = rtnl.link_index(route.ifname) if route is not None else None
    if route is None or index is None:  # no gateway (left, or internal only): no default
        rtnl.delete_default_route(family)
        return
    rtnl.replace_default_route(family, route.gateway, index)


def list_links(rtnl: Rtnl) -> list[dict[str, Any]]:
    return rtnl.links()


def list_addresses(rtnl: Rtnl) -> list[dict[str, Any]]:
    names = {link["index"]: link["name"] for link in rtnl.links()}
    return [
        {"ifname": names.get(index, str(index)), "address": f"{address}/{prefixlen}",
         "family": family}
        for index, family, address, prefixlen in rtnl.addresses()
    ]


def list_routes(rtnl: Rtnl) -> list[dict[str, Any]]:
    names = {link["index"]: link["name"] for link in rtnl.links()}
    routes = []
    for family in (socket.AF_INET, socket.AF_INET6):
        for route in rtnl.routes(family):
            routes.append({"dst": route["dst"], "gateway": route["gateway"],
                           "dev": names.get(route["oif"]), "family": family})
    return routes
