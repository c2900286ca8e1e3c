"""Look at the network from inside a container's namespace, as its processes would: a
name asked of the resolver its ``resolv.conf`` names (the embedded DNS at 127.0.0.11 on a
user-defined network), and an ICMP echo to an address.

The daemon does this itself, so that nothing is needed inside the image (no ``ping``, no
``nslookup``): a thread enters the sandbox's namespace and uses real sockets there, so a
packet goes through the container's routes, its bridge and the firewall like any other.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import time
from ipaddress import ip_address

from dockyard.kernel.ns import run_in_netns

EMBEDDED_DNS = "127.0.0.11"
_A, _AAAA, _IN = 1, 28, 1


def resolve(netns: str | None, name: str, server: str = EMBEDDED_DNS,
            timeout: float = 1.0) -> list[str]:
    """The IPv4 and IPv6 addresses the resolver at ``server`` gives ``name``, asked from
    inside ``netns`` (None: the caller's own); [] when it does not know the name or
    nobody answers."""
    def ask() -> list[str]:
        found: list[str] = []
        for qtype in (_A, _AAAA):
            found += _query(server, name, qtype, timeout)
        return found

    return run_in_netns(netns, ask)


def echo(netns: str | None, address: str, timeout: float = 1.0) -> bool:
    """Whether ``address`` answers an ICMP echo sent from inside ``netns`` (None: the
    caller's own)."""
    return run_in_netns(netns, lambda: _echo(address, timeout))


def _query(server: str, name: str, qtype: int, timeout: float) -> list[str]:
    ident = int.from_bytes(os.urandom(2), "big")
    question = b"".join(bytes([len(label)]) + label.encode("idna")
                        for label in name.rstrip(".").split(".") if label) + b"\0"
    packet = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question + struct.pack(
        "!HH", qtype, _IN)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(packet, (server, 53))
            deadline = time.monotonic() + timeout
            while True:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                reply, _ = sock.recvfrom(4096)
                if len(reply) >= 12 and struct.unpack("!H", reply[:2])[0] == ident:
                    return _answers(reply, qtype)
        except OSError:  # no resolver there (timeout, refused, unreachable)
            return []


def _answers(reply: bytes, qtype: int) -> list[str]:
    """The addresses of type ``qtype`` in a reply's answer section."""
    _, flags, qdcount, ancount, _, _ = struct.unpack("!HHHHHH", reply[:12])
    if flags & 0x000F:  # NXDOMAIN, SERVFAIL, ...
        return []
    offset = 12
    for _ in range(qdcount):
        offset = _skip_name(reply, offset) + 4
    found = []
    for _ in range(ancount):
        offset = _skip_name(reply, offset)
        rtype, _, _, length = struct.unpack("!HHIH", reply[offset:offset + 10])
        offset += 10
        data = reply[offset:offset + length]
        offset += length
        if rtype == qtype and len(data) in (4, 16):
            found.append(str(ip_address(data)))
    return found


def _skip_name(data: bytes, offset: int) -> int:
    while offset < len(data):
        length = data[offset]
        if length & 0xC0 == 0xC0:  # a compression pointer ends the name
            return offset + 2
        offset += 1 + length
        if length == 0:
            return offset
    raise ValueError("truncated DNS name")


def _echo(address: str, timeout: float) -> bool:
    v6 = ip_address(address).version == 6
    family = socket.AF_INET6 if v6 else socket.AF_INET
    proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
    request, reply_type = (128, 129) if v6 else (8, 0)
    ident = int.from_bytes(os.urandom(2), "big")
    header = struct.pack("!BBHHH", request, 0, 0, ident, 1)
    payload = b"dockyard-probe"
    checksum = 0 if v6 else _checksum(header + payload)  # the kernel sums ICMPv6
    packet = struct.pack("!BBHHH", request, 0, checksum, ident, 1) + payload
    with socket.socket(family, socket.SOCK_RAW, proto) as sock:
        try:
            sock.sendto(packet, (address, 0))
        except OSError:  # no route, or the firewall refused it on the way out
            return False
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                return False
            data, sender = sock.recvfrom(2048)
            icmp = data if v6 else data[(data[0] & 0x0F) * 4:]  # v4 raw reads the IP header
            if (len(icmp) >= 8 and icmp[0] == reply_type
                    and struct.unpack("!H", icmp[4:6])[0] == ident
                    and ip_address(sender[0]) == ip_address(address)):
                return True
    return False


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return int(~total & 0xFFFF)
