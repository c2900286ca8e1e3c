"""Networks: a driver, IPAM pools and options, as stored."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

# Docker's bridge driver options (com.docker.network.bridge.*) and generic ones.
OPT_BRIDGE_NAME = "com.docker.network.bridge.name"
OPT_ENABLE_ICC = "com.docker.network.bridge.enable_icc"
OPT_ENABLE_MASQ = "com.docker.network.bridge.enable_ip_masquerade"
OPT_HOST_BINDING_IPV4 = "com.docker.network.bridge.host_binding_ipv4"
OPT_DEFAULT_BRIDGE = "com.docker.network.bridge.default_bridge"
OPT_MTU = "com.docker.network.driver.mtu"

PREDEFINED = ("bridge", "host", "none")


@dataclass(frozen=True)
class Pool:
    """One IPAM pool of a network, as JSON-safe strings (the ipam package validates them)."""

    subnet: str
    gateway: str
    ip_range: str | None = None
    aux_addresses: dict[str, str] = field(default_factory=dict)
    user_subnet: bool = False

    def to_doc(self) -> dict[str, Any]:
        return {
            "subnet": self.subnet,
            "gateway": self.gateway,
            "ip_range": self.ip_range,
            "aux_addresses": dict(self.aux_addresses),
            "user_subnet": self.user_subnet,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Pool:
        return cls(
            subnet=doc["subnet"],
            gateway=doc["gateway"],
            ip_range=doc.get("ip_range"),
            aux_addresses=dict(doc.get("aux_addresses") or {}),
            user_subnet=bool(doc.get("user_subnet")),
        )

    @property
    def is_ipv6(self) -> bool:
        return ":" in self.subnet


@dataclass(frozen=True)
class Network:
    id: str
    name: str
    driver: str
    created: str
    pools: tuple[Pool, ...] = ()
    internal: bool = False
    attachable: bool = False
    enable_ipv6: bool = False
    enable_ipv4: bool = True  # False: an IPv6-only network (Docker 28's --ipv4=false)
    ipam_driver: str = "default"
    ipam_options: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    # Kernel name of the network's device (bridge; a macvlan network's parent), fixed at
    # create time.
    device: str = ""
    # The driver made ``device`` (a macvlan network's dummy or VLAN parent) and deletes it
    # with the network; a parent the user had is left alone.
    made_device: bool = False
    # "creating" until every kernel step is done; reconcile removes or finishes the rest.
    state: str = "ready"

    @property
    def scope(self) -> str:
        return "local"

    @property
    def predefined(self) -> bool:
        return self.name in PREDEFINED

    def bool_option(self, key: str, default: bool) -> bool:
        value = self.options.get(key)
        if value is None:
            return default
        return value.strip().lower() in ("1", "true", "yes", "on")

    @property
    def user_defined(self) -> bool:
        """A network of the user's: its containers find each other by name through the
        embedded DNS (Docker's default bridge and host/none have no such thing)."""
        return self.driver not in ("host", "null") and not self.bool_option(
            OPT_DEFAULT_BRIDGE, False)

    @property
    def icc(self) -> bool:
        return self.bool_option(OPT_ENABLE_ICC, True)

    @property
    def masquerade(self) -> bool:
        return self.bool_option(OPT_ENABLE_MASQ, True)

    @property
    def mtu(self) -> int:
        return int(self.options.get(OPT_MTU) or 0)

    def pool_v4(self) -> Pool | None:
        return next((p for p in self.pools if not p.is_ipv6), None)

    def pool_v6(self) -> Pool | None:
        return next((p for p in self.pools if p.is_ipv6), None)

    def with_state(self, state: str) -> Network:
        return replace(self, state=state)

    def to_doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "driver": self.driver,
            "created": self.created,
            "pools": [p.to_doc() for p in self.pools],
            "internal": self.internal,
            "attachable": self.attachable,
            "enable_ipv6": self.enable_ipv6,
            "enable_ipv4": self.enable_ipv4,
            "ipam_driver": self.ipam_driver,
            "ipam_options": dict(self.ipam_options),
            "options": dict(self.options),
            "labels": dict(self.labels),
            "device": self.device,
            "made_device": self.made_device,
            "state": self.state,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Network:
        return cls(
            id=doc["id"],
            name=doc["name"],
            driver=doc["driver"],
            created=doc["created"],
            pools=tuple(Pool.from_doc(p) for p in doc.get("pools", [])),
            internal=bool(doc.get("internal")),
            attachable=bool(doc.get("attachable")),
            enable_ipv6=bool(doc.get("enable_ipv6")),
            enable_ipv4=bool(doc.get("enable_ipv4", True)),
            ipam_driver=doc.get("ipam_driver", "default"),
            ipam_options=dict(doc.get("ipam_options") or {}),
            options=dict(doc.get("options") or {}),
            labels=dict(doc.get("labels") or {}),
            device=doc.get("device", ""),
            made_device=bool(doc.get("made_device")),
            state=doc.get("state", "ready"),
        )
