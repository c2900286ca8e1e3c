"""``ports:`` entries, short and long syntax, expanded to one ServicePort per container port.

Short syntax: ``[[HOST_IP:][HOST_PORT[-RANGE]]:]CONTAINER_PORT[-RANGE][/PROTOCOL]``; an
IPv6 host address is written in brackets (``"[::1]:8080:80"``). A container range maps
one-to-one onto an equally long host range; a single container port with a host range lets
the engine pick one host port from the range.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from dockyard.compose.model import ServicePort

_PROTOCOLS = ("tcp", "udp", "sctp")
_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


class PortSyntaxError(ValueError):
    """The reason an entry does not parse; the caller adds file, key and value."""


def _port_range(text: str, what: str) -> tuple[int, int]:
    match = _RANGE.match(text)
    if match is None:
        raise PortSyntaxError(f"invalid {what} {text!r}")
    start = int(match.group(1))
    end = int(match.group(2) or start)
    for port in (start, end):
        if not 0 < port <= 65535 and not (what == "host port" and port == 0):
            raise PortSyntaxError(f"{what} {port} is out of range 1-65535")
    if end < start:
        raise PortSyntaxError(f"invalid {what} range {text!r}: end before start")
    return start, end


def _split_host_ip(spec: str) -> tuple[str | None, str]:
    """Take a leading host address off ``spec``; return (host_ip, rest)."""
    if spec.startswith("["):
        close = spec.find("]")
        if close < 0 or spec[close + 1 : close + 2] != ":":
            raise PortSyntaxError("unterminated IPv6 host address")
        return spec[1:close], spec[close + 2 :]
    parts = spec.split(":")
    if len(parts) == 3:
        return parts[0], parts[1] + ":" + parts[2]
    if len(parts) > 3:
        # An unbracketed IPv6 address: everything before the last two fields.
        host = ":".join(parts[:-2])
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise PortSyntaxError("too many colons") from None
        return host, parts[-2] + ":" + parts[-1]
    return None, spec


def parse_port_short(value: str | int) -> list[ServicePort]:
    if isinstance(value, int):
        value = str(value)
    spec = value.strip()
    protocol = "tcp"
    if "/" in spec:
        spec, protocol = spec.rsplit("/", 1)
        protocol = protocol.lower()
        if protocol not in _PROTOCOLS:
            raise PortSyntaxError(f"invalid protocol {protocol!r}")
    host_ip, rest = _split_host_ip(spec)
    if host_ip is not None:
        if not host_ip:
            host_ip = None
        else:
            try:
                ipaddress.ip_address(host_ip)
            except ValueError:
                raise PortSyntaxError(f"invalid host IP {host_ip!r}") from None
    if ":" in rest:
        published_text, target_text = rest.split(":", 1)
    else:
        published_text, target_text = "", rest
    if ":" in target_text:
        raise PortSyntaxError("too many colons")
    t_start, t_end = _port_range(target_text, "container port")
    if not published_text:
        return [
            ServicePort(target=port, host_ip=host_ip, protocol=protocol)
            for port in range(t_start, t_end + 1)
        ]
    p_start, p_end = _port_range(published_text, "host port")
    t_len = t_end - t_start
    p_len = p_end - p_start
    if t_len == 0:
        published = str(p_start) if p_len == 0 else f"{p_start}-{p_end}"
        return [ServicePort(target=t_start, published=published, host_ip=host_ip,
                            protocol=protocol)]
    if t_len != p_len:
        raise PortSyntaxError("host and container port ranges are not the same length")
    return [
        ServicePort(target=t_start + i, published=str(p_start + i), host_ip=host_ip,
                    protocol=protocol)
        for i in range(t_len + 1)
    ]


def parse_port_long(value: dict[str, Any]) -> ServicePort:
    if "target" not in value:
        raise PortSyntaxError("long syntax needs target")
    try:
        target = int(value["target"])
    except (TypeError, ValueError):
        raise PortSyntaxError(f"invalid container port {value['target']!r}") from None
    if not 0 < target <= 65535:
        raise PortSyntaxError(f"container port {target} is out of range 1-65535")
    published_raw = value.get("published")
    published: str | None = None
    if published_raw not in (None, ""):
        start, end = _port_range(str(published_raw), "host port")
        published = str(start) if start == end else f"{start}-{end}"
    protocol = str(value.get("protocol") or "tcp").lower()
    if protocol not in _PROTOCOLS:
        raise PortSyntaxError(f"invalid protocol {protocol!r}")
    mode = str(value.get("mode") or "ingress")
    if mode not in ("ingress", "host"):
        raise PortSyntaxError(f"invalid mode {mode!r}: must be ingress or host")
    host_ip = value.get("host_ip") or None
    if host_ip is not None:
        try:
            ipaddress.ip_address(host_ip)
        except ValueError:
            raise PortSyntaxError(f"invalid host IP {host_ip!r}") from None
    return ServicePort(target=target, published=published, host_ip=host_ip, protocol=protocol,
                       mode=mode, name=value.get("name"), app_protocol=value.get("app_protocol"))


def parse_port(value: str | int | dict[str, Any]) -> list[ServicePort]:
    if isinstance(value, dict):
        return [parse_port_long(value)]
    return parse_port_short(value)
