"""Docker's ``-p``/``--publish`` and ``--expose`` syntaxes, parsed into values (pure).

Accepted, as Docker accepts them (``[hostIP:][hostPort[-end]:]containerPort[-end][/proto]``)::

    80                 container 80/tcp on a random host port, all host addresses
    8080:80            host 8080 → container 80
    127.0.0.1:8080:80  only on 127.0.0.1
    127.0.0.1::80      random host port, only on 127.0.0.1
    [::1]:8080:80      IPv6 host address in brackets (bare "::1:8080:80" works too)
    8080:80/udp        protocol, case-insensitive, tcp by default
    8000-8010:8000-8010  ranges of equal length map one to one
    8000-8010:80       one container port on *one* free host port taken from the range
    3000-3005          six container ports, each on a random host port

SCTP is refused with a clear message: Docker knows it, but our DNAT rules and port checks
cover tcp and udp only.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

from dockyard.errors import InvalidParameter

Proto = Literal["tcp", "udp"]
_DIGITS = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class PortSpec:
    """One container port to publish; ``host_port_start == host_port_end == 0`` = random.

    ``host_port_start < host_port_end`` means "any one free port of that range".
    """

    proto: Proto
    container_port: int
    host_ip: str | None  # normalised ("::1", not "[::1]"); None = every host address
    host_port_start: int = 0
    host_port_end: int = 0

    @property
    def key(self) -> str:
        """Docker's port key, e.g. ``"80/tcp"``."""
        return f"{self.container_port}/{self.proto}"


@dataclass(frozen=True)
class ExposedPort:
    """A port the container declares (``--expose``/``EXPOSE``); publishes nothing by itself."""

    proto: Proto
    port: int

    @property
    def key(self) -> str:
        return f"{self.port}/{self.proto}"


def parse_publish(spec: str) -> list[PortSpec]:
    """Parse one ``-p`` value into one :class:`PortSpec` per container port."""
    host_ip, host_part, container_part = _split(spec)
    ports_part, proto = _split_proto(spec, container_part)
    if not ports_part:
        raise InvalidParameter(f'invalid port spec "{spec}": no container port specified')
    ip = _parse_host_ip(spec, host_ip) if host_ip else None

    c_start, c_end = _parse_range(ports_part, allow_zero=False, what="containerPort", spec=spec)
    if host_part:
        h_start, h_end = _parse_range(host_part, allow_zero=True, what="hostPort", spec=spec)
        if (h_start == 0) != (h_end == 0):
            raise InvalidParameter(f'invalid port spec "{spec}": invalid hostPort: {host_part}')
    else:
        h_start = h_end = 0

    count = c_end - c_start + 1
    if host_part and (h_end - h_start) != (c_end - c_start) and count != 1:
        raise InvalidParameter(
            f'invalid port spec "{spec}": invalid ranges specified for container and host '
            f"ports: {ports_part} and {host_part}"
        )
    if count == 1:
        # One container port: a host range (or a single host port) is kept whole; the
        # allocator picks one free port from it.
        return [PortSpec(proto, c_start, ip, h_start, h_end)]
    return [
        PortSpec(
            proto,
            c_start + i,
            ip,
            h_start + i if h_start else 0,
            h_start + i if h_start else 0,
        )
        for i in range(count)
    ]


def parse_expose(spec: str) -> list[ExposedPort]:
    """Parse one ``--expose`` value: ``80``, ``80/udp``, ``7000-7010/udp``."""
    if ":" in spec:
        raise InvalidParameter(
            f'invalid port spec "{spec}": --expose takes a port or range and a protocol, '
            "not a host address or host port"
        )
    ports_part, proto = _split_proto(spec, spec)
    if not ports_part:
        raise InvalidParameter(f'invalid port spec "{spec}": no port specified')
    start, end = _parse_range(ports_part, allow_zero=False, what="port", spec=spec)
    return [ExposedPort(proto, port) for port in range(start, end + 1)]


def _split(spec: str) -> tuple[str, str, str]:
    """Split into (host ip, host port(s), container part), like Docker: the last two
    colon-separated fields are ports, whatever comes before is the address."""
    parts = spec.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return ":".join(parts[:-2]), parts[-2], parts[-1]


def _split_proto(spec: str, part: str) -> tuple[str, Proto]:
    ports, sep, proto = part.partition("/")
    proto = proto.lower() if sep and proto else "tcp"
    if proto == "tcp":
        return ports, "tcp"
    if proto == "udp":
        return ports, "udp"
    if proto == "sctp":
        raise InvalidParameter(
            f'invalid port spec "{spec}": invalid proto: sctp (dockyard publishes tcp and udp only)'
        )
    raise InvalidParameter(f'invalid port spec "{spec}": invalid proto: {proto}')


def _parse_host_ip(spec: str, raw: str) -> str:
    text = raw
    if text.startswith("[") or text.endswith("]"):
        if not (text.startswith("[") and text.endswith("]")):
            raise InvalidParameter(f'invalid port spec "{spec}": invalid IP address: {raw}')
        text = text[1:-1]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise InvalidParameter(f'invalid port spec "{spec}": invalid IP address: {raw}') from None
    if raw.startswith("[") and addr.version != 6:
        raise InvalidParameter(
            f'invalid port spec "{spec}": invalid IP address: {raw} (brackets are for IPv6)'
        )
    return str(addr)


def _parse_range(text: str, *, allow_zero: bool, what: str, spec: str) -> tuple[int, int]:
    bad = InvalidParameter(f'invalid port spec "{spec}": invalid {what}: {text}')
    start_s, sep, end_s = text.partition("-")
    if not _DIGITS.match(start_s) or (sep and not _DIGITS.match(end_s)):
        raise bad
    start = int(start_s)
    end = int(end_s) if sep else start
    low = 0 if allow_zero else 1
    if not (low <= start <= 65535 and low <= end <= 65535):
        raise bad
    if end < start:
        raise InvalidParameter(
            f'invalid port spec "{spec}": invalid {what}: {text} (range end is below its start)'
        )
    return start, end
