"""Asking upstream DNS servers: UDP first, TCP when the answer is truncated.

The host's resolvers are asked from the calling thread's namespace — the daemon's (host)
namespace — which is how a loopback resolver in the host's resolv.conf (127.0.0.53, a
stub on 127.0.0.1) is reachable, as in Docker. A container's own ``--dns`` servers are
asked from the container's namespace (``netns``), as Docker does: its routes, its
firewall, and its 127.0.0.1. Each query uses its own connected socket, so a reply can
only come from the server asked, and is checked for the query's id and question before
it is believed.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

from dockyard.dns.wire import QueryInfo, is_truncated, reply_matches
from dockyard.errors import InvalidParameter
from dockyard.kernel.netns_socket import open_socket_in_netns


@dataclass(frozen=True, slots=True)
class Upstream:
    address: IPv4Address | IPv6Address
    port: int = 53

    @property
    def family(self) -> socket.AddressFamily:
        return socket.AF_INET if self.address.version == 4 else socket.AF_INET6

    @property
    def sockaddr(self) -> tuple[str, int]:
        return (str(self.address), self.port)

    def __str__(self) -> str:
        if self.address.version == 6:
            return f"[{self.address}]:{self.port}"
        return f"{self.address}:{self.port}"


def parse_upstream(text: str) -> Upstream:
    """``1.2.3.4``, ``1.2.3.4:5353``, ``::1`` or ``[::1]:5353`` → :class:`Upstream`."""
    host, port = text.strip(), "53"
    if host.startswith("["):
        end = host.find("]")
        if end < 0 or (host[end + 1 :] and not host[end + 1 :].startswith(":")):
            raise InvalidParameter(f'invalid DNS server "{text}": expected [address]:port')
        host, port = host[1:end], host[end + 2 :] or "53"
    elif host.count(":") == 1:
        host, port = host.split(":")
    try:
        address = ip_address(host)
    except ValueError:
        raise InvalidParameter(f'invalid DNS server "{text}": not an IP address') from None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidParameter(f'invalid DNS server "{text}": port must be 1..65535')
    return Upstream(address, int(port))


class BadReply(Exception):
    """The upstream answered something that is not an answer to our query."""


async def exchange(
    upstream: Upstream,
    query: bytes,
    info: QueryInfo,
    tcp: bool,
    timeout: float,
    netns: str | None = None,
) -> bytes:
    """One query to one server: UDP (retried over TCP if truncated) or TCP directly,
    from ``netns`` when given (else from this thread's namespace)."""
    if not tcp:
        reply = await _exchange_udp(upstream, query, info, timeout, netns)
        if not is_truncated(reply):
            return reply
    return await asyncio.wait_for(_exchange_tcp(upstream, query, info, netns), timeout)


async def _socket(upstream: Upstream, kind: socket.SocketKind, netns: str | None
                  ) -> socket.socket:
    if netns is None:
        sock = socket.socket(upstream.family, kind)
        sock.setblocking(False)
        return sock
    anywhere = "0.0.0.0" if upstream.family == socket.AF_INET else "::"
    return await asyncio.to_thread(open_socket_in_netns, netns, upstream.family, kind,
                                   (anywhere, 0))


async def _exchange_udp(upstream: Upstream, query: bytes, info: QueryInfo, timeout: float,
                        netns: str | None) -> bytes:
    loop = asyncio.get_running_loop()
    sock = await _socket(upstream, socket.SOCK_DGRAM, netns)
    try:
        sock.connect(upstream.sockaddr)
        await loop.sock_sendall(sock, query)
        async with asyncio.timeout(timeout):
            while True:
                reply = await loop.sock_recv(sock, 65535)
                if reply_matches(query, info, reply):
                    return reply
                # A stray or spoofed datagram: keep waiting for the real answer.
    finally:
        sock.close()


async def _exchange_tcp(upstream: Upstream, query: bytes, info: QueryInfo,
                        netns: str | None) -> bytes:
    sock = await _socket(upstream, socket.SOCK_STREAM, netns)
    try:
        await asyncio.get_running_loop().sock_connect(sock, upstream.sockaddr)
        reader, writer = await asyncio.open_connection(sock=sock)
    except BaseException:
        sock.close()
        raise
    try:
        writer.write(len(query).to_bytes(2, "big") + query)
        await writer.drain()
        length = int.from_bytes(await reader.readexactly(2), "big")
        reply = await reader.readexactly(length)
    finally:
        writer.close()
    if not reply_matches(query, info, reply):
        raise BadReply(f"reply from {upstream} does not match the query")
    return reply
