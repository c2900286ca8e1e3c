"""Identifiers, Docker's name rules and deterministic kernel names."""

from __future__ import annotations

import re
import secrets

from dockyard.errors import InvalidParameter

# Docker: [a-zA-Z0-9][a-zA-Z0-9_.-]* for container and network names.
_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
IFNAMSIZ = 15  # bytes, without the trailing NUL


def new_id() -> str:
    """64 hex characters, like Docker's object ids."""
    return secrets.token_hex(32)


def short_id(object_id: str) -> str:
    return object_id[:12]


def validate_name(kind: str, name: str) -> str:
    if not name or not _NAME_RE.match(name):
        raise InvalidParameter(
            f'invalid {kind} name "{name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed'
        )
    return name


def validate_network_name(name: str) -> str:
    """Docker only refuses an empty network name (docker-py tests even use "test 01");
    control characters are refused too, since they would corrupt tables and logs."""
    if not name or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidParameter(f'invalid network name "{name}": it must be non-empty text')
    return name


def validate_ifname(field: str, name: str) -> str:
    raw = name.encode()
    if not raw or len(raw) > IFNAMSIZ or "/" in name or any(c.isspace() for c in name):
        raise InvalidParameter(
            f'invalid {field} "{name}": interface names are 1..{IFNAMSIZ} bytes, no "/" or spaces'
        )
    return name


# Our own prefixes, not Docker's (br-, veth): both engines may share a machine, and
# reconcile removes leftovers by prefix, so it must never match Docker's devices.
BRIDGE_PREFIX = "dy-"
VETH_PREFIX = "dyv"
DEFAULT_BRIDGE = "dockyard0"


def bridge_name(network_id: str) -> str:
    """``dy-`` plus 12 hex of the id: 15 bytes, traceable to the network."""
    return f"{BRIDGE_PREFIX}{network_id[:12]}"


def host_veth_name(endpoint_id: str) -> str:
    """Host side of an endpoint's veth pair: ``dyv`` plus 12 hex of the endpoint id."""
    return f"{VETH_PREFIX}{endpoint_id[:12]}"


def mac_from_ipv4(address: str) -> str:
    """Docker (before 28.0) derived the MAC from the IPv4 address: 02:42 + the four octets.
    Keeping it makes the MAC predictable, and a reused address keeps its MAC, so peers'
    ARP caches stay right without gratuitous ARP."""
    octets = [int(part) for part in address.split(".")]
    return "02:42:" + ":".join(f"{o:02x}" for o in octets)


def parse_mac(text: str) -> str:
    """A MAC address a user gives an interface, as ``aa:bb:cc:dd:ee:ff``. Go's forms, as
    dockerd reads them (``:`` or ``-`` between octets, or ``aabb.ccdd.eeff``), of an
    Ethernet's 6 octets; a multicast address is refused here rather than by the kernel
    at the start ("cannot assign requested address")."""
    compact = text.strip().lower()
    if len(compact) == 17 and compact[2::3] in (":" * 5, "-" * 5):
        digits = compact.replace(compact[2], "")
    elif len(compact) == 14 and compact[4::5] == "..":
        digits = compact.replace(".", "")
    else:
        digits = ""
    if len(digits) != 12 or any(c not in "0123456789abcdef" for c in digits):
        raise InvalidParameter(f"invalid MAC address {text}")
    if int(digits[:2], 16) & 1:
        raise InvalidParameter(
            f"invalid MAC address {text}: a multicast address cannot be an interface's")
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))
