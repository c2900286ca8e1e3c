"""Sandboxes: the network namespace one or more containers live in."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from dockyard.portmap.allocate import Binding

# How a sandbox gets its namespace.
MODE_PRIVATE = "private"  # its own netns (bridge networks, none)
MODE_HOST = "host"  # the host's netns
MODE_CONTAINER = "container"  # another sandbox's netns (docker's container:X)


@dataclass(frozen=True)
class Sandbox:
    id: str
    name: str
    mode: str
    netns: str  # path of the bind-mounted namespace ("" for host mode)
    hostname: str = ""
    domainname: str = ""
    # container mode: the sandbox whose namespace this one shares
    shares: str | None = None
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()  # "name:ip"
    # Published ports, allocated when the sandbox is made; forwarded to the address of the
    # endpoint that holds the default route (Docker programs NAT on the gateway endpoint).
    ports: tuple[Binding, ...] = ()
    exposed: tuple[str, ...] = ()  # "80/tcp": exposed but not published
    state: str = "ready"
    labels: dict[str, str] = field(default_factory=dict)

    def with_state(self, state: str) -> Sandbox:
        return replace(self, state=state)

    def to_doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "mode": self.mode,
            "netns": self.netns,
            "hostname": self.hostname,
            "domainname": self.domainname,
            "shares": self.shares,
            "dns": list(self.dns),
            "dns_search": list(self.dns_search),
            "dns_options": list(self.dns_options),
            "extra_hosts": list(self.extra_hosts),
            "ports": [
                {"proto": p.proto, "container_port": p.container_port, "host_ip": p.host_ip,
                 "host_port": p.host_port}
                for p in self.ports
            ],
            "exposed": list(self.exposed),
            "state": self.state,
            "labels": dict(self.labels),
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Sandbox:
        return cls(
            id=doc["id"],
            name=doc["name"],
            mode=doc["mode"],
            netns=doc.get("netns", ""),
            hostname=doc.get("hostname", ""),
            domainname=doc.get("domainname", ""),
            shares=doc.get("shares"),
            dns=tuple(doc.get("dns") or ()),
            dns_search=tuple(doc.get("dns_search") or ()),
            dns_options=tuple(doc.get("dns_options") or ()),
            extra_hosts=tuple(doc.get("extra_hosts") or ()),
            ports=tuple(
                Binding(p["proto"], int(p["container_port"]), p.get("host_ip"),
                        int(p["host_port"]))
                for p in doc.get("ports") or ()
            ),
            exposed=tuple(doc.get("exposed") or ()),
            state=doc.get("state", "ready"),
            labels=dict(doc.get("labels") or {}),
        )
