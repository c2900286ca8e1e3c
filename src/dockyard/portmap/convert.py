"""Bindings → what the outside sees: Docker's ``NetworkSettings.Ports`` JSON, and the
firewall's :class:`PortForward` values (pure)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from dockyard.nft.model import IPAddress, PortForward
from dockyard.portmap.allocate import Binding
from dockyard.portmap.spec import ExposedPort

DockerPorts = dict[str, list[dict[str, str]] | None]


def to_docker_ports(
    bindings: Iterable[Binding],
    exposed: Iterable[ExposedPort] = (),
    *,
    dual_stack: bool = True,
) -> DockerPorts:
    """Shape ``NetworkSettings.Ports`` as Docker (27+) does.

    A binding on every address shows twice, ``0.0.0.0`` then ``::``, with the same host
    port; pass ``dual_stack=False`` when the host has no IPv6 so only ``0.0.0.0`` shows.
    An exposed port without bindings maps to ``None`` (JSON ``null``). Keys are sorted as
    strings, as Go's JSON encoder sorts map keys.
    """
    ports: dict[str, list[dict[str, str]] | None] = {e.key: None for e in exposed}
    for b in sorted(bindings, key=_binding_order):
        entries = ports.get(b.key) or []
        if b.host_ip is None:
            entries.append({"HostIp": "0.0.0.0", "HostPort": str(b.host_port)})
            if dual_stack:
                entries.append({"HostIp": "::", "HostPort": str(b.host_port)})
        else:
            entries.append({"HostIp": b.host_ip, "HostPort": str(b.host_port)})
        ports[b.key] = entries
    return {key: ports[key] for key in sorted(ports)}


def _binding_order(b: Binding) -> tuple[int, str, int, int, int]:
    if b.host_ip is None:
        return (b.container_port, b.proto, 0, 0, b.host_port)
    addr = ipaddress.ip_address(b.host_ip)
    return (b.container_port, b.proto, addr.version, int(addr), b.host_port)


def to_port_forwards(
    binding: Binding, container_ips: Sequence[IPAddress], bridge: str
) -> list[PortForward]:
    """The DNAT forwards for one binding to a container reachable at ``container_ips`` on
    ``bridge``: one per container address whose family the host address can reach (all of
    them when the binding is on every address). A family without a container address gets
    no forward; DNAT cannot translate IPv6 to IPv4."""
    host = None if binding.host_ip is None else ipaddress.ip_address(binding.host_ip)
    return [
        PortForward(
            proto=binding.proto,
            host_ip=host,
            host_port=binding.host_port,
            container_ip=cip,
            container_port=binding.container_port,
            bridge=bridge,
        )
        for cip in container_ips
        if host is None or host.version == cip.version
    ]
