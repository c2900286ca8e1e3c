"""What the firewall must do, as plain values: the input of :func:`render_ruleset`.

These are deliberately flat and kernel-shaped (bridge names, addresses, ports) rather than
Dockyard's network/endpoint objects, so the renderer stays a pure function of data that a
test can write by hand, and the engine decides once how its state maps onto the firewall.
Every field that ends up inside the nft script is validated here, at construction, so a
bad name can never turn into a broken (or injected) script.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Literal

from dockyard.errors import InvalidParameter

Proto = Literal["tcp", "udp"]
IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

IFNAMSIZ = 15  # bytes, without the trailing NUL
# Interface names go inside double quotes in the script; allow only characters that need no
# escaping there (the kernel would accept more, but Dockyard never creates such names).
_IFNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")


def check_ifname(field: str, name: str) -> str:
    """Return ``name`` if it is a bridge name nft can quote safely, else raise."""
    if len(name.encode()) > IFNAMSIZ or not _IFNAME_RE.match(name):
        raise InvalidParameter(
            f'invalid {field} "{name}": interface names are 1..{IFNAMSIZ} bytes of '
            "[A-Za-z0-9_.@-], starting with a letter or digit"
        )
    return name


def check_port(field: str, port: int) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise InvalidParameter(f'invalid {field} "{port}": must be 1..65535')
    return port


@dataclass(frozen=True)
class FirewallNetwork:
    """One of our bridge networks, as the firewall sees it."""

    bridge: str  # Linux bridge name, e.g. "dockyard0", "dy-1a2b3c4d5e6f"
    subnets: tuple[IPNetwork, ...]
    internal: bool  # reaches nothing outside itself; nothing but the host reaches it
    icc: bool  # com.docker.network.bridge.enable_icc
    masquerade: bool  # com.docker.network.bridge.enable_ip_masquerade
    gateway_v4: IPv4Address | None = None  # the bridge's own address (localhost SNAT source)

    def __post_init__(self) -> None:
        check_ifname("bridge name", self.bridge)
        for subnet in self.subnets:
            if not isinstance(subnet, IPv4Network | IPv6Network):
                raise InvalidParameter(f'invalid subnet "{subnet}" on bridge "{self.bridge}"')


@dataclass(frozen=True)
class PortForward:
    """One published port: host (ip, port) → container (ip, port), one protocol, one family.

    ``host_ip`` None means every local address of the container address's family; an
    unspecified address (0.0.0.0 or ::) means every local address of that family only.
    """

    proto: Proto
    host_ip: IPAddress | None
    host_port: int
    container_ip: IPAddress
    container_port: int
    bridge: str  # the bridge the container address lives on

    def __post_init__(self) -> None:
        if self.proto not in ("tcp", "udp"):
            raise InvalidParameter(f'invalid proto "{self.proto}": must be tcp or udp')
        check_port("host port", self.host_port)
        check_port("container port", self.container_port)
        check_ifname("bridge name", self.bridge)
        if not isinstance(self.container_ip, IPv4Address | IPv6Address):
            raise InvalidParameter(f'invalid container address "{self.container_ip}"')
        if self.host_ip is not None and not isinstance(self.host_ip, IPv4Address | IPv6Address):
            raise InvalidParameter(f'invalid host address "{self.host_ip}"')


@dataclass(frozen=True)
class FirewallState:
    """Everything our table must express; rendering it twice gives the same script."""

    networks: tuple[FirewallNetwork, ...] = ()
    ports: tuple[PortForward, ...] = ()

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for net in self.networks:
            if net.bridge in seen:
                raise InvalidParameter(f'duplicate bridge name "{net.bridge}" in firewall state')
            seen.add(net.bridge)
