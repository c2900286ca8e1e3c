"""Host-port allocation for published ports (pure: the kernel check is injected).

Two questions decide whether a host port can be used: does another binding of ours already
hold it (``taken``, from the engine's state), and can the kernel actually bind it
(``is_free``, which the kernel layer answers by trying to bind a socket, so a port held by
some other program on the host is refused up front, as Docker's port allocator does).
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from dockyard.errors import Conflict, InvalidParameter, Unavailable
from dockyard.portmap.spec import PortSpec, Proto

Taken = tuple[str, str | None, int]  # (proto, host ip or None for all, host port)
IsFree = Callable[[str, str | None, int], bool]


@dataclass(frozen=True)
class Binding:
    """A published port with its host port decided."""

    proto: Proto
    container_port: int
    host_ip: str | None  # None = every host address (IPv4 and IPv6)
    host_port: int

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.proto}"

    @property
    def taken(self) -> Taken:
        """This binding as an entry of the ``taken`` set of later allocations."""
        return (self.proto, self.host_ip, self.host_port)


def ips_overlap(a: str | None, b: str | None) -> bool:
    """Whether two host addresses share sockets: None (all) overlaps everything, 0.0.0.0
    every IPv4 address and :: every IPv6 address (we bind IPv6 sockets v6-only)."""
    if a is None or b is None:
        return True
    ia, ib = ipaddress.ip_address(a), ipaddress.ip_address(b)
    if ia.version != ib.version:
        return False
    return ia == ib or ia.is_unspecified or ib.is_unspecified


def allocate_host_ports(
    specs: Sequence[PortSpec],
    taken: Iterable[Taken],
    ephemeral: tuple[int, int],
    is_free: IsFree,
    rng: random.Random | None = None,
) -> list[Binding]:
    """Decide a host port for every spec, in order; all or nothing.

    Fixed ports must be neither ``taken`` (same proto, overlapping address) nor refused by
    ``is_free`` → else :class:`Conflict` in Docker's words. A host range gives the first
    usable port of the range. Port 0 draws from ``ephemeral`` (the kernel's
    ``ip_local_port_range``), starting at a random offset and wrapping, so concurrent
    containers rarely race for one port → :class:`Unavailable` when none is left.
    Ports handed out earlier in the same call count as taken for the later specs.
    """
    low, high = ephemeral
    if not 1 <= low <= high <= 65535:
        raise InvalidParameter(f'invalid ephemeral port range "{low}-{high}": need 1 <= lo <= hi')
    rng = rng if rng is not None else random.Random()
    held: list[Taken] = list(taken)
    bindings: list[Binding] = []

    def usable(proto: str, ip: str | None, port: int) -> bool:
        clash = any(p == proto and port == hp and ips_overlap(ip, hip) for p, hip, hp in held)
        return not clash and is_free(proto, ip, port)

    for spec in specs:
        ip = spec.host_ip
        if spec.host_port_start == 0:
            span = high - low + 1
            offset = rng.randrange(span)
            candidates: Iterable[int] = (low + (offset + i) % span for i in range(span))
            port = next((c for c in candidates if usable(spec.proto, ip, c)), None)
            if port is None:
                raise Unavailable(
                    f"no free host port for {spec.key} on {_show_ip(ip)}: every port of "
                    f"the ephemeral range {low}-{high} is in use"
                )
        else:
            first, last = spec.host_port_start, spec.host_port_end
            port = next((c for c in range(first, last + 1) if usable(spec.proto, ip, c)), None)
            if port is None:
                ports = str(first) if first == last else f"{first}-{last}"
                raise Conflict(f"Bind for {_show_ip(ip)}:{ports} failed: port is already allocated")
        binding = Binding(spec.proto, spec.container_port, ip, port)
        held.append(binding.taken)
        bindings.append(binding)
    return bindings


def _show_ip(ip: str | None) -> str:
    if ip is None:
        return "0.0.0.0"
    return f"[{ip}]" if ":" in ip else ip
