"""A tiny upstream DNS server the tests run on 127.0.0.1 (UDP and TCP).

It answers ``ext.example`` A, NXDOMAIN for ``missing.example``, SERVFAIL for
``fail.example``, REFUSED for ``refused.example`` and a TXT answer for
``big.example`` too large for UDP (truncated there, whole over TCP). It counts queries
(``tcp_queries`` those that came over TCP). By default it takes a free port on
127.0.0.1; a test playing a host's own resolver gives it port 53 in that host's namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

import dns.flags
import dns.message
import dns.rcode
import dns.rrset

EXT_ADDRESS = "192.0.2.10"
BIG_RECORDS = 30


def answer(wire: bytes, tcp: bool) -> bytes:
    query = dns.message.from_wire(wire)
    reply = dns.message.make_response(query)
    name = str(query.question[0].name).lower()
    if name == "ext.example.":
        reply.answer.append(dns.rrset.from_text(name, 60, "IN", "A", EXT_ADDRESS))
    elif name == "missing.example.":
        reply.set_rcode(dns.rcode.NXDOMAIN)
    elif name == "fail.example.":
        reply.set_rcode(dns.rcode.SERVFAIL)
    elif name == "refused.example.":
        reply.set_rcode(dns.rcode.REFUSED)
    elif name == "big.example.":
        texts = [f'"record-{i:02d}-{"x" * 60}"' for i in range(BIG_RECORDS)]
        if tcp:
            reply.answer.append(dns.rrset.from_text(name, 60, "IN", "TXT", *texts))
        else:
            reply.flags |= dns.flags.TC
    else:
        reply.set_rcode(dns.rcode.NXDOMAIN)
    return reply.to_wire(max_size=65535)


class StubUpstream:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.queries = 0
        self.tcp_queries = 0
        self.host = host
        self.port = port
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        stub = self

        class Proto(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                stub.queries += 1
                self.transport.sendto(answer(data, tcp=False), addr)  # type: ignore[attr-defined]

        # One port number for both protocols, as a real server has.
        tcp_sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp_sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp_sock.bind((self.host, self.port))
        self.port = tcp_sock.getsockname()[1]
        transport, _ = await loop.create_datagram_endpoint(
            Proto, local_addr=(self.host, self.port)
        )
        self._udp = transport

        async def on_tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
                while True:
                    length = int.from_bytes(await reader.readexactly(2), "big")
                    stub.queries += 1
                    stub.tcp_queries += 1
                    reply = answer(await reader.readexactly(length), tcp=True)
                    writer.write(len(reply).to_bytes(2, "big") + reply)
                    await writer.drain()
            writer.close()

        self._tcp = await asyncio.start_server(on_tcp, sock=tcp_sock)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()
