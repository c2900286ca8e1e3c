"""Kernel changes as data.

Drivers and the engine *plan*: they return a list of steps. Only ``kernel/``
applies them. Every step knows the step that undoes it, so a failed request
rolls back exactly what it did, in reverse order (netavark's setup habit).
``netns`` is a namespace path; ``None`` means the host's namespace.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    def undo(self) -> Step | None:
        """The step that reverts this one, or None when nothing needs reverting."""
        return None

    def describe(self) -> str:
        return type(self).__name__


@dataclass(frozen=True)
class CreateNetns(Step):
    path: str

    def undo(self) -> Step:
        return DeleteNetns(self.path)

    def describe(self) -> str:
        return f"create network namespace {self.path}"


@dataclass(frozen=True)
class DeleteNetns(Step):
    path: str

    def describe(self) -> str:
        return f"delete network namespace {self.path}"


@dataclass(frozen=True)
class CreateBridge(Step):
    name: str
    addresses: tuple[str, ...]  # "172.18.0.1/16"
    mtu: int = 0

    def undo(self) -> Step:
        return DeleteLink(self.name)

    def describe(self) -> str:
        return f"create bridge {self.name} {' '.join(self.addresses)}"


@dataclass(frozen=True)
class DeleteLink(Step):
    name: str
    netns: str | None = None
    # The sandbox end of a veth pair: taken down and out of the way (renamed) at once,
    # so its name is free and the sandbox sees it gone while the pair is deleted later.
    peer_netns: str | None = None
    peer_ifname: str | None = None

    def describe(self) -> str:
        return f"delete link {self.name}" + (f" in {self.netns}" if self.netns else "")


@dataclass(frozen=True)
class CreateVeth(Step):
    """A veth pair: ``host_ifname`` enslaved to ``master`` in the host namespace, the peer
    created directly inside ``peer_netns`` as ``peer_ifname`` with its MAC and addresses,
    and brought up (one netlink exchange per side, no rename dance)."""

    host_ifname: str
    master: str
    peer_netns: str
    peer_ifname: str
    mac: str
    addresses: tuple[str, ...]
    mtu: int = 0

    def undo(self) -> Step:
        return DeleteLink(self.host_ifname)

    def describe(self) -> str:
        return (f"create veth {self.host_ifname} on {self.master} <-> {self.peer_ifname} "
                f"{' '.join(self.addresses)} in {self.peer_netns}")


@dataclass(frozen=True)
class CreateParentLink(Step):
    """A link in the host's namespace that a network's endpoints hang off: a stand-alone
    ``bridge`` (no ports), or a ``vlan`` (802.1Q, ``vlan_id``) on ``lower``; made up."""

    name: str
    kind: str  # "bridge" | "vlan"
    lower: str = ""
    vlan_id: int = 0

    def undo(self) -> Step:
        return DeleteLink(self.name)

    def describe(self) -> str:
        on = f" on {self.lower} id {self.vlan_id}" if self.kind == "vlan" else ""
        return f"create {self.kind} link {self.name}{on}"


@dataclass(frozen=True)
class CreateVxlan(Step):
    """A VXLAN link (``vni``, UDP ``port``) enslaved to the bridge ``master`` in the host's
    namespace, up, sending broadcasts and unknown destinations to every one of ``peers``
    (the other hosts' underlay addresses)."""

    name: str
    vni: int
    master: str
    peers: tuple[str, ...]
    local: str | None = None
    port: int = 4789
    mtu: int = 0

    def undo(self) -> Step:
        return DeleteLink(self.name)

    def describe(self) -> str:
        return (f"create vxlan {self.name} id {self.vni} port {self.port} on {self.master} "
                f"to {', '.join(self.peers)}")


@dataclass(frozen=True)
class CreateMacvlan(Step):
    """A macvlan link on ``parent`` (in the host's namespace), made directly inside
    ``netns`` as ``ifname`` with its MAC and addresses, and brought up."""

    parent: str
    mode: str  # bridge | private | vepa | passthru
    netns: str
    ifname: str
    mac: str
    addresses: tuple[str, ...]
    mtu: int = 0

    def undo(self) -> Step:
        return DeleteLink(self.ifname, self.netns)

    def describe(self) -> str:
        return (f"create macvlan {self.ifname} on {self.parent} (mode {self.mode}) "
                f"{' '.join(self.addresses)} in {self.netns}")


@dataclass(frozen=True)
class LoopbackUp(Step):
    netns: str

    def describe(self) -> str:
        return f"set lo up in {self.netns}"


@dataclass(frozen=True)
class Route:
    gateway: str
    ifname: str


@dataclass(frozen=True)
class SetDefaultRoutes(Step):
    """Replace the sandbox's default routes (None removes that family's default)."""

    netns: str
    v4: Route | None
    v6: Route | None
    previous_v4: Route | None = None
    previous_v6: Route | None = None

    def undo(self) -> Step:
        return SetDefaultRoutes(self.netns, self.previous_v4, self.previous_v6, self.v4, self.v6)

    def describe(self) -> str:
        v4 = f"via {self.v4.gateway} dev {self.v4.ifname}" if self.v4 else "none"
        v6 = f"via {self.v6.gateway} dev {self.v6.ifname}" if self.v6 else "none"
        return f"default route in {self.netns}: ipv4 {v4}, ipv6 {v6}"


@dataclass(frozen=True)
class Sysctl(Step):
    key: str  # e.g. "net/ipv4/ip_forward"
    value: str
    netns: str | None = None

    def describe(self) -> str:
        return f"sysctl {self.key}={self.value}" + (f" in {self.netns}" if self.netns else "")


@dataclass(frozen=True)
class ApplyFirewall(Step):
    """Replace Dockyard's nftables table with ``script`` in one transaction."""

    script: str
    previous: str = ""
    # A whole-table script to apply if ``script`` (a delta) is refused: a delta fails when
    # the kernel's table drifted from the record; the whole table is right regardless.
    fallback: str = ""

    def undo(self) -> Step:
        return ApplyFirewall(self.previous, self.script)

    def describe(self) -> str:
        return "apply nftables ruleset"
