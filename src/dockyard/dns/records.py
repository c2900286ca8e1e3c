"""The embedded resolver's records, as one immutable value computed from state.

The engine describes every endpoint that should be resolvable as a :class:`DnsEndpoint`
and calls :func:`build_records`. The result is never edited: on every change (start,
stop, connect, disconnect) the engine builds a new one and hands it to the server,
which swaps it in with a single reference assignment. A query in flight therefore sees
either the old table or the new one, never half of each. A new value may be derived
from the last one (``build_records(previous=...)``, :func:`derive_records`): the same
value, made by redoing only the names of the endpoints that changed.

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
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from ipaddress import IPv4Address, IPv6Address
from itertools import compress, repeat
from operator import add, attrgetter, itemgetter, methodcaller
from types import MappingProxyType
from typing import TypeVar

from dockyard.errors import InvalidParameter

#: Query types the embedded resolver can answer itself (others are forwarded).
QTYPE_A = 1
QTYPE_PTR = 12
QTYPE_MX = 15
QTYPE_AAAA = 28

Scope = tuple[str, ...]
Address = IPv4Address | IPv6Address
K = TypeVar("K")
V = TypeVar("V")


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
    # Set when the view was derived from an earlier one (build_records' ``previous``):
    # what differs from it, so the wire layer recompiles only that. Not part of the value.
    changes: ScopeChanges | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ScopeChanges:
    """How a view differs from the view whose mappings are ``base_names``/``base_reverse``.

    Every key not listed maps to the very same object in both (the entries are compared
    by identity), so whatever was made from an unlisted key's value can be kept. The
    base mappings are held (one level: a base view's own ``changes`` are not), so
    identity against them is meaningful.
    """

    base_names: Mapping[str, NameEntry]
    base_reverse: Mapping[IPv4Address | IPv6Address, str]
    names: frozenset[str]  # added, removed or given another entry
    reverse: frozenset[IPv4Address | IPv6Address]


@dataclass(frozen=True, slots=True)
class _NetworkTable:
    name: str
    # name -> addresses in that network, in endpoint order
    names: Mapping[str, NameEntry]
    reverse: Mapping[IPv4Address | IPv6Address, str]
    # For deriving the next table from this one (see _update_table): how many endpoints
    # are on the network, and how many hold each name or address held by more than one.
    size: int = field(default=0, compare=False, repr=False)
    shared_names: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    shared_addresses: Mapping[IPv4Address | IPv6Address, int] = field(
        default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Records:
    """The immutable answer table for every sandbox; build with :func:`build_records`."""

    _networks: Mapping[str, _NetworkTable] = field(default_factory=dict)
    _sandbox_scopes: Mapping[str, Scope] = field(default_factory=dict)
    _scopes: Mapping[Scope, ScopeView] = field(default_factory=dict)
    # What it was built from, for a later build_records(previous=self).
    _endpoints: tuple[DnsEndpoint, ...] = field(default=(), compare=False, repr=False)
    _internal: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    # Sandboxes with more endpoints than networks (seldom), and how many more.
    _sandbox_extra: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

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

    def sandbox_scopes(self) -> Mapping[str, Scope]:
        """Every sandbox's scope (see :meth:`networks_of`)."""
        return self._sandbox_scopes

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
    endpoints: Iterable[DnsEndpoint],
    internal_networks: frozenset[str] = frozenset(),
    previous: Records | None = None,
) -> Records:
    """Compute the whole table from the endpoints; pure.

    ``previous`` (the records of an earlier call, any earlier call) changes nothing in
    the result, only its cost: when few endpoints were added or removed since, only the
    names and addresses those endpoints hold are worked out again, and the result's
    views say which keys differ (:class:`ScopeChanges`) so the wire layer need not look
    at the others either. Engine changes come one endpoint at a time, so this turns
    each change from O(every name) into O(its names), plus C-level passes over the
    endpoints and copies of the dicts.

    From scratch it is O(endpoints + names × distinct scopes), the per-endpoint part in
    C (dict updates of each endpoint's own entries).
    """
    endpoints = tuple(endpoints)
    if previous is not None and previous._endpoints:
        records = _build_from(previous, endpoints, internal_networks)
        if records is not None:
            return records
    return _build_anew(endpoints, internal_networks)


def _build_anew(endpoints: tuple[DnsEndpoint, ...], internal: frozenset[str]) -> Records:
    net_names: dict[str, str] = {}
    per_net: dict[str, list[DnsEndpoint]] = {}
    sandbox_nets: dict[str, list[str]] = {}
    extra: dict[str, int] = {}
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
        else:
            extra[ep.sandbox_id] = extra.get(ep.sandbox_id, 0) + 1
        on_net = per_net.get(ep.network_id)
        if on_net is None:
            per_net[ep.network_id] = [ep]
        else:
            on_net.append(ep)
    networks = {net_id: _network_table(net_names[net_id], eps)
                for net_id, eps in per_net.items()}
    sandbox_scopes = {sb: tuple(nets) for sb, nets in sandbox_nets.items()}
    scopes = {
        scope: _merge_scope(scope, networks, internal)
        for scope in set(sandbox_scopes.values())
    }
    return Records(MappingProxyType(networks), MappingProxyType(sandbox_scopes),
                   MappingProxyType(scopes), endpoints, internal, MappingProxyType(extra))


def _network_table(name: str, endpoints: list[DnsEndpoint]) -> _NetworkTable:
    """One network's table from its endpoints, in order: a name shared by several has
    their addresses in that order; an address is named by the first endpoint with it."""
    names: dict[str, NameEntry] = {}
    reverse: dict[Address, str] = {}
    shared_names: dict[str, int] = {}
    shared_addresses: dict[Address, int] = {}
    for ep in endpoints:
        if names.keys().isdisjoint(ep.name_entries):
            names.update(ep.name_entries)
        else:  # a name shared with an earlier endpoint: its addresses follow theirs
            for key, entry in ep.name_entries.items():
                held = names.get(key)
                if held is None:
                    names[key] = entry
                else:
                    names[key] = held.joined(entry)
                    shared_names[key] = shared_names.get(key, 1) + 1
        if reverse.keys().isdisjoint(ep.reverse_entries):
            reverse.update(ep.reverse_entries)
        else:  # the first endpoint with an address names it
            for address, target in ep.reverse_entries.items():
                if address in reverse:
                    shared_addresses[address] = shared_addresses.get(address, 1) + 1
                else:
                    reverse[address] = target
    return _NetworkTable(name, MappingProxyType(names), MappingProxyType(reverse), len(endpoints),
                         MappingProxyType(shared_names), MappingProxyType(shared_addresses))


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


# -- deriving records from earlier ones ---------------------------------------------------

#: Past this many endpoints added plus removed, building anew costs no more.
_MAX_CHANGED = 32

_NETWORK_ID = attrgetter("network_id")
_SANDBOX_ID = attrgetter("sandbox_id")
_NAME_ENTRIES = attrgetter("name_entries")
_REVERSE_ENTRIES = attrgetter("reverse_entries")


def _build_from(previous: Records, endpoints: tuple[DnsEndpoint, ...],
                internal: frozenset[str]) -> Records | None:
    """``build_records(endpoints, internal)`` from ``previous``, or None when that is
    not the cheap way (or not a plain case: then the full build decides, raising its
    errors too).

    Endpoints are told apart by identity: the engine's view keeps the same
    :class:`DnsEndpoint` object for an endpoint that did not change. Finding out what
    changed passes over all endpoints, but in C (``map``, ``zip``, ``filter``, set
    operations on ids); a caller that knows it already uses :func:`derive_records`.
    """
    old = previous._endpoints
    old_by_id = dict(zip(map(id, old), old, strict=True))
    new_by_id = dict(zip(map(id, endpoints), endpoints, strict=True))
    if len(new_by_id) != len(endpoints) or len(old_by_id) != len(old):
        return None  # one endpoint object twice: left to the full build
    added_ids = new_by_id.keys() - old_by_id.keys()
    removed_ids = old_by_id.keys() - new_by_id.keys()
    if len(added_ids) + len(removed_ids) > _MAX_CHANGED:
        return None
    # Order decides whose addresses come first under a shared name, who names a shared
    # address and the order of a sandbox's networks: the endpoints kept must keep theirs.
    if (list(filter(old_by_id.__contains__, map(id, endpoints)))
            != list(filter(new_by_id.__contains__, map(id, old)))):
        return None
    return _derive(previous, endpoints, internal, [new_by_id[i] for i in added_ids],
                   [old_by_id[i] for i in removed_ids])


def derive_records(
    previous: Records, endpoints: Iterable[DnsEndpoint], internal_networks: frozenset[str],
    added: Collection[DnsEndpoint], removed: Collection[DnsEndpoint],
) -> Records:
    """``build_records(endpoints, internal_networks)``, for a caller that knows how the
    endpoints differ from ``previous``'s: they are those with ``removed`` taken out and
    ``added`` put in (each once, told apart by identity), the others in the same order.
    That is taken on trust, which spares the C-level passes :func:`build_records` makes
    to find it out; the cost is then that of the change, not of all endpoints.
    """
    endpoints = tuple(endpoints)
    if (len(added) + len(removed) <= _MAX_CHANGED
            and len(endpoints) == len(previous._endpoints) + len(added) - len(removed)):
        records = _derive(previous, endpoints, internal_networks, added, removed)
        if records is not None:
            return records
    return _build_anew(endpoints, internal_networks)


def _derive(previous: Records, endpoints: tuple[DnsEndpoint, ...], internal: frozenset[str],
            added: Collection[DnsEndpoint], removed: Collection[DnsEndpoint]
            ) -> Records | None:
    """The records for ``endpoints``, which are ``previous``'s with ``removed`` taken out
    and ``added`` put in, from ``previous``: Python looks only at the changed endpoints
    and their keys. None when the full build should decide."""
    if not added and not removed and internal == previous._internal:
        return previous
    changed_nets: dict[str, tuple[list[DnsEndpoint], list[DnsEndpoint]]] = {}
    for ep in removed:
        changed_nets.setdefault(ep.network_id, ([], []))[0].append(ep)
    new_net_names: dict[str, str] = {}
    for ep in added:
        table = previous._networks.get(ep.network_id)
        known = new_net_names.setdefault(
            ep.network_id, ep.network_name if table is None else table.name)
        if known != ep.network_name:
            return None  # a network renamed, or named twice: the full build sorts it out
        changed_nets.setdefault(ep.network_id, ([], []))[1].append(ep)

    networks = copy_mapping(previous._networks)
    # per network: the names and addresses whose entry changed
    changed_keys: dict[str, tuple[set[str], set[Address]]] = {}
    for net_id, (gone, new) in changed_nets.items():

        def on_net(net_id: str = net_id) -> list[DnsEndpoint]:
            return list(compress(endpoints, map(net_id.__eq__, map(_NETWORK_ID, endpoints))))

        table = previous._networks.get(net_id)
        if table is None:
            networks[net_id] = _network_table(new[0].network_name, on_net())
        elif table.size == len(gone) and not new:
            del networks[net_id]  # its last endpoint left
        else:
            networks[net_id], changed_keys[net_id] = _update_table(table, gone, new, on_net)

    sandbox_scopes, extra = _update_sandbox_scopes(previous, endpoints, added, removed)

    scopes: dict[Scope, ScopeView] = {}
    for scope in set(sandbox_scopes.values()):
        view = previous._scopes.get(scope)
        if view is None:
            scopes[scope] = _merge_scope(scope, networks, internal)
            continue
        forward_allowed = any(n not in internal for n in scope)
        if any(n in changed_keys for n in scope):
            scopes[scope] = _remerge_scope(scope, view, networks, changed_keys, forward_allowed)
        elif view.forward_allowed != forward_allowed:
            scopes[scope] = ScopeView(view.names, view.reverse, forward_allowed)
        else:
            scopes[scope] = view
    return Records(MappingProxyType(networks), MappingProxyType(sandbox_scopes),
                   MappingProxyType(scopes), endpoints, internal, MappingProxyType(extra))


def _update_sandbox_scopes(
    previous: Records, endpoints: tuple[DnsEndpoint, ...], added: Collection[DnsEndpoint],
    removed: Collection[DnsEndpoint],
) -> tuple[dict[str, Scope], dict[str, int]]:
    """The sandboxes' scopes (and extra endpoints) after the change. A sandbox's networks
    are in the order of its endpoints, so in general its endpoints are looked for among
    all (in C); the usual changes do without: a sandbox's first endpoint, and endpoints
    leaving a sandbox with one endpoint on each of its networks."""
    scopes = copy_mapping(previous._sandbox_scopes)
    extra = copy_mapping(previous._sandbox_extra)
    changed: dict[str, tuple[list[DnsEndpoint], list[DnsEndpoint]]] = {}
    for ep in removed:
        changed.setdefault(ep.sandbox_id, ([], []))[0].append(ep)
    for ep in added:
        changed.setdefault(ep.sandbox_id, ([], []))[1].append(ep)
    search: dict[str, int] = {}  # sandbox → how many endpoints it has now
    for sandbox_id, (gone, new) in changed.items():
        scope = scopes.pop(sandbox_id, ())
        more = extra.pop(sandbox_id, 0)
        size = len(scope) + more + len(new) - len(gone)
        if size == 0:
            continue
        if not new and not more:  # one endpoint a network: their networks leave
            left = {ep.network_id for ep in gone}
            scopes[sandbox_id] = tuple(n for n in scope if n not in left)
        elif not scope and len(new) == 1:
            scopes[sandbox_id] = (new[0].network_id,)
        else:
            search[sandbox_id] = size
    if search:
        for ep in compress(endpoints, map(search.__contains__, map(_SANDBOX_ID, endpoints))):
            nets = scopes.get(ep.sandbox_id, ())
            if ep.network_id not in nets:
                scopes[ep.sandbox_id] = (*nets, ep.network_id)
        for sandbox_id, size in search.items():
            if size > len(scopes[sandbox_id]):
                extra[sandbox_id] = size - len(scopes[sandbox_id])
    return scopes, extra


def _update_table(
    table: _NetworkTable, gone: list[DnsEndpoint], new: list[DnsEndpoint],
    on_net: Callable[[], list[DnsEndpoint]],
) -> tuple[_NetworkTable, tuple[set[str], set[Address]]]:
    """``table`` with the endpoints ``gone`` taken out and ``new`` put in (at their places
    in the order ``on_net`` lists), and the names and addresses whose entry is no longer
    the same object."""
    endpoints = cache(on_net)  # only wanted for a shared key, so at most once

    def entries_of(key: str) -> list[NameEntry]:
        return list(filter(None, map(methodcaller("get", key), map(_NAME_ENTRIES, endpoints()))))

    def targets_of(address: Address) -> list[str]:
        return list(filter(None, map(methodcaller("get", address),
                                     map(_REVERSE_ENTRIES, endpoints()))))

    names, shared_names, changed_names = _update_keys(
        table.names, table.shared_names, [ep.name_entries for ep in gone],
        [ep.name_entries for ep in new], entries_of, _joined)
    reverse, shared_addresses, changed_addresses = _update_keys(
        table.reverse, table.shared_addresses, [ep.reverse_entries for ep in gone],
        [ep.reverse_entries for ep in new], targets_of, itemgetter(0))
    updated = _NetworkTable(
        table.name, MappingProxyType(names), MappingProxyType(reverse),
        table.size + len(new) - len(gone),
        MappingProxyType(shared_names), MappingProxyType(shared_addresses))
    return updated, (changed_names, changed_addresses)


def _update_keys(
    table: Mapping[K, V], shared: Mapping[K, int], gone: list[Mapping[K, V]],
    new: list[Mapping[K, V]], held_by: Callable[[K], list[V]], merge: Callable[[list[V]], V],
) -> tuple[dict[K, V], dict[K, int], set[K]]:
    """One mapping of a network's table (names or addresses) with the endpoints whose
    own entries are ``gone`` taken out and those whose are ``new`` put in: the mapping,
    the counts of keys held by more than one endpoint, and the keys whose value is no
    longer the same object.

    A key held by one endpoint only (nearly all: IPAM hands out distinct addresses, and
    names are mostly per container) is set or deleted outright; a shared one is merged
    again from its holders' values in endpoint order (``held_by``), as the full build
    merges them.
    """
    result = copy_mapping(table)
    counts = copy_mapping(shared)
    changed: set[K] = set()
    for key in {key for own in (*gone, *new) for key in own}:
        before = table.get(key)
        fresh = [own[key] for own in new if key in own]
        count = ((counts.get(key) or (0 if before is None else 1))
                 + len(fresh) - sum(key in own for own in gone))
        if count >= 2:
            counts[key] = count
        else:
            counts.pop(key, None)
        if count == 0:  # (its holders were there before: the key was)
            del result[key]
            changed.add(key)
            continue
        value = fresh[0] if count == 1 and len(fresh) == 1 else merge(held_by(key))
        result[key] = value
        if value is not before:
            changed.add(key)
    return result, counts, changed


def _joined(entries: list[NameEntry]) -> NameEntry:
    """The entries of one name's holders as one, as the full build joins them."""
    joined = entries[0]
    for later in entries[1:]:
        joined = joined.joined(later)
    return joined


def _remerge_scope(scope: Scope, view: ScopeView, networks: Mapping[str, _NetworkTable],
                   changed_keys: Mapping[str, tuple[set[str], set[Address]]],
                   forward_allowed: bool) -> ScopeView:
    """``view`` (merged from earlier tables of the same networks) brought up to date
    with the keys that changed in the networks' tables: each merged key that can depend
    on a changed name (the name itself and its ``name.network`` form) is looked up again
    by the rules of :func:`_merge_scope`."""
    tables = [networks[n] for n in scope]
    suffixes = ["." + t.name.lower() for t in tables]
    keys: set[str] = set()
    for net_id, suffix in zip(scope, suffixes, strict=True):
        changed = changed_keys.get(net_id)
        if changed is not None:
            keys.update(changed[0])
            keys.update(map(add, changed[0], repeat(suffix)))
    names = copy_mapping(view.names)
    changed_names: set[str] = set()
    for key in keys:
        entry = _scope_entry(key, tables, suffixes)
        if entry is None:
            if names.pop(key, None) is not None:
                changed_names.add(key)
        elif names.get(key) is not entry:
            names[key] = entry
            changed_names.add(key)

    addresses: set[Address] = set()
    for net_id in scope:
        changed = changed_keys.get(net_id)
        if changed is not None:
            addresses.update(changed[1])
    reverse: Mapping[Address, str]
    if len(scope) == 1:
        reverse = tables[0].reverse  # a one-network scope uses the table's own mapping
    else:
        merged = copy_mapping(view.reverse)
        for address in addresses:
            target = next((t.reverse[address] for t in tables if address in t.reverse), None)
            if target is None:
                merged.pop(address, None)
            else:
                merged[address] = target
        reverse = MappingProxyType(merged)
    changed_reverse = frozenset(a for a in addresses if view.reverse.get(a) is not reverse.get(a))
    return ScopeView(
        MappingProxyType(names), reverse, forward_allowed,
        ScopeChanges(view.names, view.reverse, frozenset(changed_names), changed_reverse))


def _scope_entry(key: str, tables: list[_NetworkTable], suffixes: list[str]
                 ) -> NameEntry | None:
    """What ``key`` resolves to in a merged scope: the first network with it as a plain
    name, else the first network whose ``name.network`` form it is."""
    for table in tables:
        entry = table.names.get(key)
        if entry is not None:
            return entry
    for table, suffix in zip(tables, suffixes, strict=True):
        if key.endswith(suffix):
            entry = table.names.get(key[: -len(suffix)])
            if entry is not None:
                return entry
    return None


def copy_mapping(mapping: Mapping[K, V]) -> dict[K, V]:
    """A dict with ``mapping``'s items. A dict or a proxy of one is copied in C with its
    stored hashes: ``dict(proxy)`` would hash every key again, and an address hashes
    in Python."""
    if isinstance(mapping, dict | MappingProxyType):
        return mapping.copy()
    return dict(mapping)


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
