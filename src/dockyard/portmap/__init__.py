"""Port publishing: ``-p``/``--expose`` parsing, host-port allocation, Docker's JSON (pure)."""

from __future__ import annotations

from dockyard.portmap.allocate import Binding, allocate_host_ports, ips_overlap
from dockyard.portmap.convert import to_docker_ports, to_port_forwards
from dockyard.portmap.spec import ExposedPort, PortSpec, parse_expose, parse_publish

__all__ = [
    "Binding",
    "ExposedPort",
    "PortSpec",
    "allocate_host_ports",
    "ips_overlap",
    "parse_expose",
    "parse_publish",
    "to_docker_ports",
    "to_port_forwards",
]
