"""The embedded resolver's records, as one immutable value computed from state.

The engine describes every endpoint that should be resolvable as a :class:`DnsEndpoint`
and calls :func:`build_records`. The result is never edited: on every change (start,
stop, connect, disconnect) the engine builds a new one and hands it to the server,
which swaps it in with a single reference assignment. A query in flight therefore sees
either the old table or the new one, never half of each.

Name resolution follows Docker's embedded DNS (libnetwork ``Sandbox.ResolveName``):

* a sandbox sees only the networks it has an endpoint on; a name that exists only on
  another network is *not ours* and is forwarded upstream, like any other name;
* names are case-insensitive, and ``name.<network name>`` selects one network;
* the networks are searched in the order the sandbox's endpoints were given, and the
  first network that knows the name answers (with all of its addresses there);
* a name known without an address of the asked family is answered with no records
  (NOERROR, "NODATA"), not forwarded;
* PTR answers ``<first name>.<network name>``.

Work is done once per *scope* (the ordered tuple of networks a sandbox is on), not per
sandbox: a thousand containers on one network share one table.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from types import MappingProxyType

from dockyard.errors import InvalidParameter

#: Query types the embedded resolver can answer itself (others are forwarded).
QTYPE_A = 1
QTYPE_PTR = 12
QTYPE_MX = 15
QTYPE_AAAA = 28

Scope = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DnsEndpoint:
    """One endpoint as DNS sees it: which names reach which addresses, on which network.

    ``names`` are the container name, network aliases, short id and hostname, as the
    engine decides; the first one is the name PTR queries answer with.
    """

    network_id: str
    network_name: str
    sandbox_id: str
    names: tuple[str, ...]
    ipv4: IPv4Address | None = None
    ipv6: IPv6Address | None = None
    # What this endpoint alone gives its network's table, made once: a table is then the
    # union of its endpoints' (one C-level update each), merging only where names meet.
    name_entries: Mapping[str, NameEntry] = field(init=False, repr=False, compare=False)
    reverse_entries: Mapping[IPv4Address | IPv6Address, str] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in self.names:
            _check_name(name)
        entry = NameEntry(() if self.ipv4 is None else (self.ipv4,),
                          () if self.ipv6 is None else (self.ipv6,))
        object.__setattr__(self, "name_entries",
                           dict.fromkeys((n.lower() for n in self.names), entry))
        target = f"{self.names[0]}.{self.network_name}" if self.names else ""
        object.__setattr__(self, "reverse_entries", {
            address: target for address in (self.ipv4, self.ipv6)
            if address is not None and target})


class AnswerKind(enum.Enum):
    """What the resolver should do with a query."""

    FOUND = "found"  # answer with ``addresses`` (A/AAAA) or ``ptr`` (PTR)
    NODATA = "nodata"  # the name is ours but has no record of this type: empty NOERROR
    FORWARD = "forward"  # not ours: ask the upstream servers
    NO_FORWARD = "no-forward"  # not ours, and the sandbox may not reach outside (internal)


@dataclass(frozen=True, slots=True)
class Answer:
    kind: AnswerKind
    addresses: tuple[IPv4Address | IPv6Address, ...] = ()
    ptr: str = ""


@dataclass(frozen=True, slots=True)
class NameEntry:
    """The addresses a name resolves to within one scope, in registration order.

    Hashed once: the wire layer keys its compiled answers by entry on every change."""

    ipv4: tuple[IPv4Address, ...]
    ipv6: tuple[IPv6Address, ...]
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.ipv4, self.ipv6)))

    def __hash__(self) -> int:
        return self._hash

    def joined(self, later: NameEntry) -> NameEntry:
        """This entry with ``later``'s addresses that it lacks appended, in their order."""
        return NameEntry(self.ipv4 + tuple(a for a in later.ipv4 if a not in self.ipv4),
                         self.ipv6 + tuple(a for a in later.ipv6 if a not in self.ipv6))


@dataclass(frozen=True, slots=True)
class ScopeView:
    """Everything resolvable from one scope, already merged in Docker's search order.

    ``names`` maps a lower-case name without the trailing dot (plain and
    ``name.network`` forms) to its addresses; ``reverse`` maps an address to its PTR
    target (``first-name.network``).
    """

    names: Mapping[str, NameEntry]
    reverse: Mapping[IPv4Address | IPv6Address, str]
    forward_allowed: bool


@dataclass(frozen=True, slots=True)
class _NetworkTable:
    name: str
    # name -> addresses in that network, in endpoint order
    names: Mapping[str, NameEntry]
    reverse: Mapping[IPv4Address | IPv6Address, str]


@dataclass(frozen=True)
class Records:
    """The immutable answer table for every sandbox; build with :func:`build_records`."""

    _networks: Mapping[str, _NetworkTable] = field(default_factory=dict)
    _sandbox_scopes: Mapping[str, Scope] = field(default_factory=dict)
    _scopes: Mapping[Scope, ScopeView] = field(default_factory=dict)

    @property
    def sandboxes(self) -> frozenset[str]:
        return frozenset(self._sandbox_scopes)

    def networks_of(self, sandbox_id: str) -> Scope:
        """The network ids the sandbox is on, in search order (empty if unknown)."""
        return self._sandbox_scopes.get(sandbox_id, ())

    def scope_view(self, sandbox_id: str) -> ScopeView | None:
        """The merged table the sandbox resolves from, or None for an unknown sandbox."""
        scope = self._sandbox_scopes.get(sandbox_id)
        return None if scope is None else self._scopes[scope]

    def scopes(self) -> Mapping[Scope, ScopeView]:
        return self._scopes

    def scope_of(self, sandbox_id: str) -> Scope | None:
        return self._sandbox_scopes.get(sandbox_id)

    def lookup(self, sandbox_id: str, qname: str, qtype: int) -> Answer:
        """Decide the answer to ``qname``/``qtype`` asked from ``sandbox_id``.

        This is the reference (slow-path) decision; the wire layer precomputes the same
        answers into bytes and must agree with it.
        """
        view = self.scope_view(sandbox_id)
        miss = Answer(AnswerKind.FORWARD)
        if view is None:
            return miss
        if not view.forward_allowed:
            miss = Answer(AnswerKind.NO_FORWARD)
        key = qname.rstrip(".").lower()
        if qtype == QTYPE_PTR:
            address = reverse_name_to_address(key)
            if address is None or address not in view.reverse:
                return miss
            return Answer(AnswerKind.FOUND, ptr=view.reverse[address])
        entry = view.names.get(key)
        if entry is None:
            return miss
        if qtype == QTYPE_A:
            return Answer(AnswerKind.FOUND, entry.ipv4) if entry.ipv4 else Answer(AnswerKind.NODATA)
        if qtype == QTYPE_AAAA:
            return Answer(AnswerKind.FOUND, entry.ipv6) if entry.ipv6 else Answer(AnswerKind.NODATA)
        if qtype == QTYPE_MX:
            # Docker answers MX for its own names with an empty NOERROR, so mail clients
            # fall back to the A record ("implicit MX", RFC 5321 §5.1).
            return Answer(AnswerKind.NODATA)
        # TXT, SRV, CNAME, ... for our names: Docker forwards them.
        return miss


def build_records(
    endpoints: Iterable[DnsEndpoint], internal_networks: frozenset[str] = frozenset()
) -> Records:
    """Compute the whole table from the endpoints; pure, O(endpoints + names × distinct
    scopes), the per-endpoint part in C (dict updates of each endpoint's own entries)."""
    net_names: dict[str, str] = {}
    per_net: dict[str, tuple[dict[str, NameEntry], dict[IPv4Address | IPv6Address, str]]] = {}
    sandbox_nets: dict[str, list[str]] = {}

    for ep in endpoints:
        known = net_names.setdefault(ep.network_id, ep.network_name)
        if known != ep.network_name:
            raise InvalidParameter(
                f'invalid network_name "{ep.network_name}" for network "{ep.network_id}": '
                f'already named "{known}"'
            )
        nets = sandbox_nets.setdefault(ep.sandbox_id, [])
        if ep.network_id not in nets:
            nets.append(ep.network_id)
        tables = per_net.get(ep.network_id)
        if tables is None:
            tables = per_net[ep.network_id] = ({}, {})
        names, reverse = tables
        if names.keys().isdisjoint(ep.name_entries):
            names.update(ep.name_entries)
        else:  # a name shared with an earlier endpoint: its addresses follow theirs
            for name, entry in ep.name_entries.items():
                held = names.get(name)
                names[name] = entry if held is None else held.joined(entry)
        if reverse.keys().isdisjoint(ep.reverse_entries):
            reverse.update(ep.reverse_entries)
        else:  # the first endpoint with an address names it
            for address, target in ep.reverse_entries.items():
                reverse.setdefault(address, target)

    networks = {
        net_id: _NetworkTable(net_names[net_id], MappingProxyType(names),
                              MappingProxyType(reverse))
        for net_id, (names, reverse) in per_net.items()
    }
    sandbox_scopes = {sb: tuple(nets) for sb, nets in sandbox_nets.items()}
    scopes = {
        scope: _merge_scope(scope, networks, internal_networks)
        for scope in set(sandbox_scopes.values())
    }
    return Records(
        MappingProxyType(networks), MappingProxyType(sandbox_scopes), MappingProxyType(scopes)
    )


def _merge_scope(
    scope: Scope, networks: Mapping[str, _NetworkTable], internal: frozenset[str]
) -> ScopeView:
    # Docker forwards only when the sandbox has a way out: an endpoint on a network
    # that is not internal.
    forward_allowed = any(n not in internal for n in scope)
    if len(scope) == 1:  # most sandboxes: one network, whose names are all there is
        table = networks[scope[0]]
        suffix = "." + table.name.lower()
        only = {name + suffix: entry for name, entry in table.names.items()}
        only.update(table.names)  # a plain name wins over the same "name.network" form
        return ScopeView(MappingProxyType(only), table.reverse, forward_allowed)
    names: dict[str, NameEntry] = {}
    reverse: dict[IPv4Address | IPv6Address, str] = {}
    tables = [networks[n] for n in scope]
    # Plain names first, in network order: the first network knowing a name wins.
    for table in tables:
        for name, entry in table.names.items():
            names.setdefault(name, entry)
        for address, target in table.reverse.items():
            reverse.setdefault(address, target)
    # Then the "name.network" forms, which never shadow a plain name (Docker tries the
    # whole query as a name before splitting a network suffix off it).
    for table in tables:
        suffix = "." + table.name.lower()
        for name, entry in table.names.items():
            names.setdefault(name + suffix, entry)
    return ScopeView(MappingProxyType(names), MappingProxyType(reverse), forward_allowed)


def reverse_name_to_address(name: str) -> IPv4Address | IPv6Address | None:
    """``4.3.2.1.in-addr.arpa`` → 1.2.3.4 (and the ip6.arpa nibble form); None if not one."""
    name = name.rstrip(".").lower()
    if name.endswith(".in-addr.arpa"):
        parts = name[: -len(".in-addr.arpa")].split(".")
        if len(parts) != 4 or not all(p.isdigit() and len(p) <= 3 for p in parts):
            return None
        try:
            return IPv4Address(".".join(reversed(parts)))
        except ValueError:
            return None
    if name.endswith(".ip6.arpa"):
        nibbles = name[: -len(".ip6.arpa")].split(".")
        if len(nibbles) != 32 or not all(len(n) == 1 and n in "0123456789abcdef" for n in nibbles):
            return None
        return IPv6Address(int("".join(reversed(nibbles)), 16))
    return None


def address_to_reverse_name(address: IPv4Address | IPv6Address) -> str:
    """The PTR query name for an address, without the trailing dot."""
    return address.reverse_pointer


def _check_name(name: str) -> None:
    labels = name.split(".")
    if (
        not name
        or len(name) > 253
        or any(not label or len(label) > 63 for label in labels)
        or not name.isascii()
    ):
        raise InvalidParameter(f'invalid DNS name "{name}": must be 1..63-byte ASCII labels')
