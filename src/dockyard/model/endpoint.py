"""Endpoints: one network joined to one sandbox, with its addresses and names."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Endpoint:
    id: str
    network_id: str
    sandbox_id: str
    name: str  # the container (or sandbox) name, the first DNS name
    ifname: str  # inside the sandbox: eth0, eth1, …
    host_ifname: str  # host side of the veth pair ("" for drivers without one)
    mac: str = ""
    ipv4: str | None = None  # "172.18.0.2/16"
    ipv6: str | None = None
    aliases: tuple[str, ...] = ()
    static_ipv4: str | None = None
    static_ipv6: str | None = None
    gw_priority: int = 0
    links: tuple[str, ...] = ()
    # Order the endpoint joined its sandbox; interface names and the gateway tie-break use it.
    seq: int = 0
    state: str = "ready"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ipv4_address(self) -> str | None:
        return self.ipv4.split("/")[0] if self.ipv4 else None

    @property
    def ipv6_address(self) -> str | None:
        return self.ipv6.split("/")[0] if self.ipv6 else None

    def with_state(self, state: str) -> Endpoint:
        return replace(self, state=state)

    def to_doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "network_id": self.network_id,
            "sandbox_id": self.sandbox_id,
            "name": self.name,
            "ifname": self.ifname,
            "host_ifname": self.host_ifname,
            "mac": self.mac,
            "ipv4": self.ipv4,
            "ipv6": self.ipv6,
            "aliases": list(self.aliases),
            "static_ipv4": self.static_ipv4,
            "static_ipv6": self.static_ipv6,
            "gw_priority": self.gw_priority,
            "links": list(self.links),
            "seq": self.seq,
            "state": self.state,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Endpoint:
        return cls(
            id=doc["id"],
            network_id=doc["network_id"],
            sandbox_id=doc["sandbox_id"],
            name=doc["name"],
            ifname=doc["ifname"],
            host_ifname=doc.get("host_ifname", ""),
            mac=doc.get("mac", ""),
            ipv4=doc.get("ipv4"),
            ipv6=doc.get("ipv6"),
            aliases=tuple(doc.get("aliases") or ()),
            static_ipv4=doc.get("static_ipv4"),
            static_ipv6=doc.get("static_ipv6"),
            gw_priority=int(doc.get("gw_priority") or 0),
            links=tuple(doc.get("links") or ()),
            seq=int(doc.get("seq") or 0),
            state=doc.get("state", "ready"),
            extra=dict(doc.get("extra") or {}),
        )
