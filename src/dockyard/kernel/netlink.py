"""Links, addresses and routes over rtnetlink (pyroute2), one namespace at a time.

Each function takes an open ``IPRoute`` that was created inside the namespace it
acts on (see ``kernel.ns.run_in_netns``). Deleting what is already gone counts
as success, so teardown and rollback can be repeated safely.
"""

from __future__ import annotations

import errno
import os
import socket
from ipaddress import ip_interface
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from dockyard.plan import Route

_IFA_F_NODAD = 0x02  # IPv6 addresses usable at once, without duplicate detection delay
_GONE = (errno.ENODEV, errno.ENOENT, errno.ESRCH, errno.EADDRNOTAVAIL)


def open_iproute() -> IPRoute:
    # groups=0: no multicast subscriptions, we only make requests.
    return IPRoute(groups=0)


def link_index(ipr: IPRoute, name: str) -> int | None:
    # A targeted RTM_GETLINK by name, not link_lookup: that one dumps every link, which
    # grows with the number of endpoints on the host.
    try:
        return int(ipr.link("get", ifname=name)[0]["index"])
    except NetlinkError as exc:
        if exc.code in _GONE:
            return None
        raise


def _require_index(ipr: IPRoute, name: str) -> int:
    index = link_index(ipr, name)
    if index is None:
        raise NetlinkError(errno.ENODEV, f"no interface {name}")
    return index


def add_addresses(ipr: IPRoute, index: int, addresses: tuple[str, ...]) -> None:
    for cidr in addresses:
        iface = ip_interface(cidr)
        kwargs: dict[str, Any] = {
            "index": index,
            "address": str(iface.ip),
            "prefixlen": iface.network.prefixlen,
        }
        if iface.version == 6:
            kwargs["family"] = socket.AF_INET6
            kwargs["flags"] = _IFA_F_NODAD
        ipr.addr("add", **kwargs)


def create_bridge(ipr: IPRoute, name: str, addresses: tuple[str, ...], mtu: int) -> None:
    spec: dict[str, Any] = {"ifname": name, "kind": "bridge"}
    if mtu:
        spec["mtu"] = mtu
    ipr.link("add", **spec)
    index = _require_index(ipr, name)
    add_addresses(ipr, index, addresses)
    ipr.link("set", index=index, state="up")


def delete_link(ipr: IPRoute, name: str) -> None:
    index = link_index(ipr, name)
    if index is None:
        return
    try:
        ipr.link("del", index=index)
    except NetlinkError as exc:
        if exc.code not in _GONE:
            raise


def retire_link(ipr: IPRoute, name: str, tombstone: str | None = None) -> None:
    """Take a link down (and optionally rename it out of the way) before it is deleted."""
    index = link_index(ipr, name)
    if index is None:
        return
    try:
        ipr.link("set", index=index, state="down")
        if tombstone:
            ipr.link("set", index=index, ifname=tombstone)
    except NetlinkError as exc:
        if exc.code not in _GONE:
            raise


def create_veth(
    ipr: IPRoute, host_ifname: str, master: str, peer_netns: str, peer_ifname: str, mac: str,
    mtu: int,
) -> None:
    """Create the pair with the peer born inside the sandbox under its final name."""
    master_index = _require_index(ipr, master)
    fd = os.open(peer_netns, os.O_RDONLY | os.O_CLOEXEC)
    try:
        peer: dict[str, Any] = {"ifname": peer_ifname, "net_ns_fd": fd}
        if mac:
            peer["address"] = mac
        # Enslaved and up in the same request that creates it.
        spec: dict[str, Any] = {"ifname": host_ifname, "kind": "veth", "peer": peer,
                                "master": master_index, "state": "up"}
        if mtu:
            spec["mtu"] = mtu
            peer["mtu"] = mtu
        ipr.link("add", **spec)
    finally:
        os.close(fd)
    # Hairpin: a frame may leave by the port it came in on, so a container reaches its own
    # published port through the host's address (DNAT sends it straight back).
    ipr.brport("set", index=_require_index(ipr, host_ifname), mode=1)


def configure_interface(ipr: IPRoute, ifname: str, addresses: tuple[str, ...]) -> None:
    index = _require_index(ipr, ifname)
    add_addresses(ipr, index, addresses)
    ipr.link("set", index=index, state="up")


def loopback_up(ipr: IPRoute) -> None:
    ipr.link("set", index=_require_index(ipr, "lo"), state="up")


def set_default_route(ipr: IPRoute, family: int, route: Route | None) -> None:
    dst = "0.0.0.0/0" if family == socket.AF_INET else "::/0"
    index = link_index(ipr, route.ifname) if route is not None else None
    if route is None or index is None:  # no gateway (left, or internal only): no default
        try:
            ipr.route("del", dst=dst, family=family)
        except NetlinkError as exc:
            if exc.code not in _GONE:
                raise
        return
    ipr.route("replace", dst=dst, gateway=route.gateway, oif=index, family=family)


def list_links(ipr: IPRoute) -> list[dict[str, Any]]:
    links = []
    for msg in ipr.get_links():
        linkinfo = msg.get_attr("IFLA_LINKINFO")
        kind = linkinfo.get_attr("IFLA_INFO_KIND") if linkinfo else None
        links.append({
            "index": msg["index"],
            "name": msg.get_attr("IFLA_IFNAME"),
            "kind": kind,
            "master": msg.get_attr("IFLA_MASTER"),
            "mac": msg.get_attr("IFLA_ADDRESS"),
            "mtu": msg.get_attr("IFLA_MTU"),
            "up": bool(msg["flags"] & 1),
        })
    return links


def list_addresses(ipr: IPRoute) -> list[dict[str, Any]]:
    names = {link["index"]: link["name"] for link in list_links(ipr)}
    return [
        {
            "ifname": names.get(msg["index"], str(msg["index"])),
            "address": f"{msg.get_attr('IFA_ADDRESS')}/{msg['prefixlen']}",
            "family": msg["family"],
        }
        for msg in ipr.get_addr()
    ]


def list_routes(ipr: IPRoute) -> list[dict[str, Any]]:
    names = {link["index"]: link["name"] for link in list_links(ipr)}
    routes = []
    for family in (socket.AF_INET, socket.AF_INET6):
        for msg in ipr.get_routes(family=family, table=254):
            dst = msg.get_attr("RTA_DST")
            routes.append({
                "dst": f"{dst}/{msg['dst_len']}" if dst else "default",
                "gateway": msg.get_attr("RTA_GATEWAY"),
                "dev": names.get(msg.get_attr("RTA_OIF")),
                "family": family,
            })
    return routes
