"""A small rtnetlink client: the few link, address and route requests Dockyard makes.

Why not pyroute2 for these: its generic message classes cost ~0.3-1 ms of Python per
request, and a container start makes about ten of them, all while holding the GIL, so
under parallel starts the encoder became the bottleneck. Here a request is a few
``struct.pack`` calls and one ``sendto``/``recv`` pair on a plain ``AF_NETLINK`` socket.

A socket acts on the network namespace it was created in (see ``kernel/ns.py`` for
opening one inside a sandbox). One request is in flight per socket at a time: callers
that share a socket between threads hold its lock (:attr:`Rtnl.lock`).
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import ip_address, ip_interface
from typing import Any

# Message types, flags and attributes (linux/rtnetlink.h, linux/if_link.h, linux/netlink.h).
NLMSG_ERROR, NLMSG_DONE = 2, 3
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_GETADDR = 20, 22
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
RTM_NEWNEIGH = 28
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 0x1, 0x2, 0x4
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE, NLM_F_DUMP = 0x100, 0x200, 0x400, 0x300
NLM_F_APPEND = 0x800
NLM_F_ACK_TLVS = 0x200
NLA_F_NESTED = 0x8000
NETLINK_CAP_ACK, NETLINK_EXT_ACK = 10, 11
SOL_NETLINK = 270
NLMSGERR_ATTR_MSG = 1

IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER = 1, 3, 4, 5, 10
IFLA_LINKINFO, IFLA_AF_SPEC, IFLA_NET_NS_FD, IFLA_EXT_MASK = 18, 26, 28, 29
IFLA_NUM_TX_QUEUES, IFLA_NUM_RX_QUEUES = 31, 32
IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE = 8, 1
IFLA_INFO_KIND, IFLA_INFO_DATA, IFLA_INFO_SLAVE_KIND, IFLA_INFO_SLAVE_DATA = 1, 2, 4, 5
VETH_INFO_PEER = 1
IFLA_VLAN_ID = 1
IFLA_MACVLAN_MODE = 1
IFLA_VXLAN_ID, IFLA_VXLAN_LOCAL, IFLA_VXLAN_PORT = 1, 4, 15
NDA_DST, NDA_LLADDR = 1, 2
NUD_PERMANENT, NTF_SELF = 0x80, 0x02
AF_BRIDGE = 7
MACVLAN_MODES = {"private": 1, "vepa": 2, "bridge": 4, "passthru": 8}
IFLA_BRPORT_MODE = 4  # hairpin
RTEXT_FILTER_SKIP_STATS = 1 << 3
IFF_UP = 0x1

IFA_ADDRESS, IFA_LOCAL = 1, 2
IFA_F_NODAD = 0x02

RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_TABLE = 1, 4, 5, 15
RT_TABLE_MAIN = 254
RT_TABLE_COMPAT = 252  # the header's table field when the real one (RTA_TABLE) is > 255
RTPROT_BOOT = 3
RT_SCOPE_UNIVERSE = 0
RTN_UNICAST = 1

_NLMSGHDR = struct.Struct("=IHHII")
_IFINFOMSG = struct.Struct("=BxHiII")
_IFADDRMSG = struct.Struct("=BBBBI")
_NDMSG = struct.Struct("=BxxxiHBB")  # family, 3 pad, ifindex, state, flags, type
_RTMSG = struct.Struct("=BBBBBBBBI")
_RTATTR = struct.Struct("=HH")
_RECV_SIZE = 1 << 16

GONE = frozenset((errno.ENODEV, errno.ENOENT, errno.ESRCH, errno.EADDRNOTAVAIL))


class NetlinkError(OSError):
    """The kernel refused a request: ``errno`` is its error, the text its own words."""


def _align(n: int) -> int:
    return (n + 3) & ~3


def attr(kind: int, payload: bytes) -> bytes:
    length = _RTATTR.size + len(payload)
    return _RTATTR.pack(length, kind) + payload + b"\0" * (_align(length) - length)


def nested(kind: int, *parts: bytes) -> bytes:
    return attr(kind | NLA_F_NESTED, b"".join(parts))


def attr_str(kind: int, text: str) -> bytes:
    return attr(kind, text.encode() + b"\0")


def attr_u32(kind: int, value: int) -> bytes:
    return attr(kind, struct.pack("=I", value))


def attr_u8(kind: int, value: int) -> bytes:
    return attr(kind, struct.pack("=B", value))


def _no_link_local() -> bytes:
    # Only settable on an existing link: the kernel refuses IFLA_AF_SPEC at creation.
    return nested(IFLA_AF_SPEC, nested(socket.AF_INET6, attr_u8(IFLA_INET6_ADDR_GEN_MODE,
                                                                IN6_ADDR_GEN_MODE_NONE)))


def parse_attrs(data: bytes | memoryview, offset: int = 0) -> dict[int, memoryview]:
    """Attributes by type (nested flag stripped); the last of a repeated type wins."""
    view = memoryview(data)
    found: dict[int, memoryview] = {}
    end = len(view)
    while offset + _RTATTR.size <= end:
        length, kind = _RTATTR.unpack_from(view, offset)
        if length < _RTATTR.size:
            break
        found[kind & 0x3FFF] = view[offset + _RTATTR.size:offset + length]
        offset += _align(length)
    return found


def _text(value: memoryview | None) -> str | None:
    return bytes(value).rstrip(b"\0").decode() if value is not None else None


def _u32(value: memoryview | None) -> int | None:
    return struct.unpack("=I", value)[0] if value is not None else None


def _mac(value: memoryview | None) -> str | None:
    return ":".join(f"{b:02x}" for b in bytes(value)) if value is not None else None


def _ip(value: memoryview | None) -> str | None:
    return str(ip_address(bytes(value))) if value is not None else None


def mac_bytes(mac: str) -> bytes:
    return bytes(int(part, 16) for part in mac.split(":"))


@dataclass
class Message:
    type: int
    flags: int
    body: memoryview = field(repr=False)


class Rtnl:
    """One NETLINK_ROUTE socket and the requests Dockyard makes on it."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        try:
            self.sock.bind((0, 0))  # groups 0: requests only, no notifications
            # Errors carry the kernel's message, and don't echo our request back.
            self.sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
            self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        except BaseException:
            self.sock.close()
            raise
        self.lock = threading.Lock()
        self._seq = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------- transport

    def _send(self, kind: int, flags: int, payload: bytes) -> int:
        self._seq = (self._seq + 1) & 0xFFFFFFFF
        header = _NLMSGHDR.pack(_NLMSGHDR.size + len(payload), kind, flags | NLM_F_REQUEST,
                                self._seq, 0)
        self.sock.send(header + payload)
        return self._seq

    def _replies(self, seq: int) -> Iterator[Message]:
        """Messages answering ``seq`` until its ACK, error or end of dump."""
        while True:
            data = memoryview(self.sock.recv(_RECV_SIZE))
            offset = 0
            while offset + _NLMSGHDR.size <= len(data):
                length, kind, flags, msg_seq, _pid = _NLMSGHDR.unpack_from(data, offset)
                if length < _NLMSGHDR.size:
                    return
                body = data[offset + _NLMSGHDR.size:offset + length]
                offset += _align(length)
                if msg_seq != seq:
                    continue  # a late answer to an earlier, abandoned request
                if kind == NLMSG_DONE:
                    return
                if kind == NLMSG_ERROR:
                    code = struct.unpack_from("=i", body)[0]
                    if code:
                        raise _error(-code, body, flags)
                    return
                yield Message(kind, flags, body)
                if not flags & NLM_F_MULTI:
                    return  # a lone answer to a get: no ACK or DONE follows

    def request(self, kind: int, payload: bytes, flags: int = 0) -> None:
        """Send a change and wait for its acknowledgement."""
        for _ in self._replies(self._send(kind, flags | NLM_F_ACK, payload)):
            pass

    def _query(self, kind: int, payload: bytes, flags: int = 0) -> list[Message]:
        return list(self._replies(self._send(kind, flags, payload)))

    # ----------------------------------------------------------------- links

    def link_index(self, name: str) -> int | None:
        """The index of ``name``, asked by name (no dump: cost stays flat with link count)."""
        payload = _IFINFOMSG.pack(0, 0, 0, 0, 0) + attr_str(IFLA_IFNAME, name) + attr_u32(
            IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)
        try:
            replies = self._query(RTM_GETLINK, payload)
        except NetlinkError as exc:
            if exc.errno in GONE:
                return None
            raise
        return _IFINFOMSG.unpack_from(replies[0].body)[2] if replies else None

    def require_index(self, name: str) -> int:
        index = self.link_index(name)
        if index is None:
            raise NetlinkError(errno.ENODEV, f"no interface {name}")
        return index

    def create_bridge(self, name: str, mtu: int = 0, *, up: bool = False) -> None:
        attrs = attr_str(IFLA_IFNAME, name) + nested(IFLA_LINKINFO, attr_str(IFLA_INFO_KIND,
                                                                            "bridge"))
        if mtu:
            attrs += attr_u32(IFLA_MTU, mtu)
        flags = IFF_UP if up else 0
        self.request(RTM_NEWLINK, _IFINFOMSG.pack(0, 0, 0, flags, IFF_UP) + attrs,
                     NLM_F_CREATE | NLM_F_EXCL)

    def create_veth(self, name: str, *, master: int, peer_name: str, peer_netns_fd: int,
                    peer_mac: str = "", mtu: int = 0) -> None:
        """A veth pair, this end enslaved to ``master`` and up, the peer born in the
        namespace of ``peer_netns_fd`` under its final name: one request."""
        # One queue each way. The kernel's default for veth is one per possible CPU, and
        # each queue is sysfs nodes and queue state (~1 KiB) that a veth never uses: its
        # transmit hands the packet straight to the peer on the sending CPU.
        queues = attr_u32(IFLA_NUM_TX_QUEUES, 1) + attr_u32(IFLA_NUM_RX_QUEUES, 1)
        peer = (attr_str(IFLA_IFNAME, peer_name) + attr_u32(IFLA_NET_NS_FD, peer_netns_fd)
                + queues)
        if peer_mac:
            peer += attr(IFLA_ADDRESS, mac_bytes(peer_mac))
        own = attr_str(IFLA_IFNAME, name) + attr_u32(IFLA_MASTER, master) + queues
        if mtu:
            peer += attr_u32(IFLA_MTU, mtu)
            own += attr_u32(IFLA_MTU, mtu)
        info = nested(IFLA_LINKINFO, attr_str(IFLA_INFO_KIND, "veth"), nested(
            IFLA_INFO_DATA, nested(VETH_INFO_PEER, _IFINFOMSG.pack(0, 0, 0, 0, 0) + peer)))
        self.request(RTM_NEWLINK, _IFINFOMSG.pack(0, 0, 0, IFF_UP, IFF_UP) + own + info,
                     NLM_F_CREATE | NLM_F_EXCL)

    def create_link(self, name: str, kind: str, *, lower: int = 0, netns_fd: int = -1,
                    mac: str = "", mtu: int = 0, data: bytes = b"", up: bool = False,
                    master: int = 0) -> None:
        """A link of ``kind`` (dummy, vlan, macvlan...): on ``lower`` when it has one,
        born in the namespace of ``netns_fd`` when given (``lower`` is this socket's), under
        its final name; ``data`` is the kind's own IFLA_INFO_DATA attributes."""
        attrs = attr_str(IFLA_IFNAME, name)
        if lower:
            attrs += attr_u32(IFLA_LINK, lower)
        if netns_fd >= 0:
            attrs += attr_u32(IFLA_NET_NS_FD, netns_fd)
        if mac:
            attrs += attr(IFLA_ADDRESS, mac_bytes(mac))
        if mtu:
            attrs += attr_u32(IFLA_MTU, mtu)
        if master:
            attrs += attr_u32(IFLA_MASTER, master)
        info = attr_str(IFLA_INFO_KIND, kind)
        if data:
            info += nested(IFLA_INFO_DATA, data)
        flags = IFF_UP if up else 0
        self.request(RTM_NEWLINK, _IFINFOMSG.pack(0, 0, 0, flags, IFF_UP) + attrs
                     + nested(IFLA_LINKINFO, info), NLM_F_CREATE | NLM_F_EXCL)

    def append_flood_entry(self, index: int, destination: str) -> None:
        """``bridge fdb append 00:00:00:00:00:00 dev INDEX dst DESTINATION``: a VXLAN
        link sends its broadcasts and unknown unicasts to this peer too (head-end
        replication: no multicast, no control plane)."""
        payload = (_NDMSG.pack(AF_BRIDGE, index, NUD_PERMANENT, NTF_SELF, 0)
                   + attr(NDA_LLADDR, b"\0" * 6) + attr(NDA_DST, ip_address(destination).packed))
        self.request(RTM_NEWNEIGH, payload, NLM_F_CREATE | NLM_F_APPEND)

    def set_bridge_port(self, index: int, *, hairpin: bool) -> None:
        """Settle a freshly made bridge port before it has carrier: hairpin mode (frames
        may leave by the port they came in on) and no IPv6 link-local address of its own.

        A port is layer 2 only. Left to the kernel it would make a link-local address,
        run duplicate address detection and send MLD reports, and the bridge floods each
        of those to every other port: with n containers on a network that is O(n) frames
        per start, O(n^2) for a batch, measured as ~4 ms of kernel work per container at
        200. Done while the peer is still down, nothing is ever generated."""
        attrs = _no_link_local()
        if hairpin:
            attrs += nested(IFLA_LINKINFO, attr_str(IFLA_INFO_SLAVE_KIND, "bridge"),
                            nested(IFLA_INFO_SLAVE_DATA, attr_u8(IFLA_BRPORT_MODE, 1)))
        self.request(RTM_NEWLINK, _IFINFOMSG.pack(0, 0, index, 0, 0) + attrs)

    def disable_link_local(self, index: int) -> None:
        """Make no IPv6 link-local address when this (down) link comes up."""
        self.request(RTM_NEWLINK, _IFINFOMSG.pack(0, 0, index, 0, 0) + _no_link_local())

    def set_up(self, index: int, up: bool = True) -> None:
        self.request(RTM_NEWLINK, _IFINFOMSG.pack(0, 0, index, IFF_UP if up else 0, IFF_UP))

    def rename(self, index: int, name: str) -> None:
        self.request(RTM_NEWLINK, _IFINFOMSG.pack(0, 0, index, 0, 0) + attr_str(IFLA_IFNAME,
                                                                                 name))

    def delete_link(self, index: int) -> None:
        self.request(RTM_DELLINK, _IFINFOMSG.pack(0, 0, index, 0, 0))

    def links(self) -> list[dict[str, Any]]:
        payload = _IFINFOMSG.pack(0, 0, 0, 0, 0) + attr_u32(IFLA_EXT_MASK,
                                                            RTEXT_FILTER_SKIP_STATS)
        found = []
        for msg in self._query(RTM_GETLINK, payload, NLM_F_DUMP):
            _family, _type, index, flags, _change = _IFINFOMSG.unpack_from(msg.body)
            attrs = parse_attrs(msg.body, _IFINFOMSG.size)
            info = parse_attrs(attrs[IFLA_LINKINFO]) if IFLA_LINKINFO in attrs else {}
            found.append({
                "index": index,
                "name": _text(attrs.get(IFLA_IFNAME)),
                "kind": _text(info.get(IFLA_INFO_KIND)),
                "master": _u32(attrs.get(IFLA_MASTER)),
                "mac": _mac(attrs.get(IFLA_ADDRESS)),
                "mtu": _u32(attrs.get(IFLA_MTU)),
                "up": bool(flags & IFF_UP),
            })
        return found

    # ------------------------------------------------------------- addresses

    def add_address(self, index: int, cidr: str) -> None:
        iface = ip_interface(cidr)
        family = socket.AF_INET6 if iface.version == 6 else socket.AF_INET
        # IPv6: usable at once, without the duplicate-detection delay.
        flags = IFA_F_NODAD if iface.version == 6 else 0
        packed = iface.ip.packed
        payload = _IFADDRMSG.pack(family, iface.network.prefixlen, flags, RT_SCOPE_UNIVERSE,
                                  index) + attr(IFA_LOCAL, packed) + attr(IFA_ADDRESS, packed)
        self.request(RTM_NEWADDR, payload, NLM_F_CREATE | NLM_F_EXCL)

    def addresses(self) -> list[tuple[int, int, str, int]]:
        """(link index, family, address, prefix length) of every address."""
        found = []
        for msg in self._query(RTM_GETADDR, _IFADDRMSG.pack(0, 0, 0, 0, 0), NLM_F_DUMP):
            family, prefixlen, _flags, _scope, index = _IFADDRMSG.unpack_from(msg.body)
            attrs = parse_attrs(msg.body, _IFADDRMSG.size)
            address = _ip(attrs.get(IFA_ADDRESS) or attrs.get(IFA_LOCAL))
            if address is not None:
                found.append((index, family, address, prefixlen))
        return found

    # ---------------------------------------------------------------- routes

    def _default_route(self, family: int, extra: bytes = b"") -> bytes:
        return _RTMSG.pack(family, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE,
                           RTN_UNICAST, 0) + extra

    def replace_default_route(self, family: int, gateway: str, oif: int) -> None:
        extra = attr(RTA_GATEWAY, ip_address(gateway).packed) + attr_u32(RTA_OIF, oif)
        self.request(RTM_NEWROUTE, self._default_route(family, extra),
                     NLM_F_CREATE | NLM_F_REPLACE)

    def delete_default_route(self, family: int) -> None:
        try:
            self.request(RTM_DELROUTE, self._default_route(family))
        except NetlinkError as exc:
            if exc.errno not in GONE:
                raise

    def routes(self, family: int, table: int = RT_TABLE_MAIN) -> list[dict[str, Any]]:
        """Routes of one table: destination ("default" or CIDR), gateway, output link."""
        found = []
        payload = _RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)
        for msg in self._query(RTM_GETROUTE, payload, NLM_F_DUMP):
            _fam, dst_len, _src, _tos, rtm_table, _proto, _scope, _type, _flags = (
                _RTMSG.unpack_from(msg.body))
            if rtm_table not in (table, RT_TABLE_COMPAT):
                continue  # (the local table alone has two routes per address: skip early)
            attrs = parse_attrs(msg.body, _RTMSG.size)
            if (_u32(attrs.get(RTA_TABLE)) or rtm_table) != table:
                continue
            dst = _ip(attrs.get(RTA_DST))
            found.append({
                "dst": f"{dst}/{dst_len}" if dst else "default",
                "gateway": _ip(attrs.get(RTA_GATEWAY)),
                "oif": _u32(attrs.get(RTA_OIF)),
            })
        return found


def _error(code: int, body: memoryview, flags: int) -> NetlinkError:
    text = os.strerror(code)
    if flags & NLM_F_ACK_TLVS:
        # Capped ACK: the error code, then the request's header alone, then the TLVs.
        attrs = parse_attrs(body, 4 + _NLMSGHDR.size)
        message = _text(attrs.get(NLMSGERR_ATTR_MSG))
        if message:
            text = f"{text} ({message})"
    return NetlinkError(code, text)
