"""What the embedded resolver serves, computed from the engine's state.

``dns_view`` is pure: from a state snapshot it computes the records (every endpoint on a
user-defined network with its names: container name, network aliases, short id,
hostname) and which sandboxes get a resolver at 127.0.0.11 (those on at least one
user-defined network; the default bridge has no name resolution, as in Docker).

Every change is a whole new state, view and set of records, but a change costs what
changed: a :class:`ViewMemo` derives each view from the last one by the objects the
state changed, the records are derived from the last records
(:func:`~dockyard.dns.records.derive_records`) and say which names changed, and the
server recompiles only those (:func:`~dockyard.dns.wire.compile_records`). The rest is
C-level copying of dicts.
"""

from __future__ import annotations

import operator
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from itertools import compress, count, islice
from operator import attrgetter
from typing import TypeVar

from dockyard.dns.records import DnsEndpoint, Records, build_records, derive_records
from dockyard.engine.state import State
from dockyard.ipam.parse import stored_address
from dockyard.model.endpoint import Endpoint
from dockyard.model.network import Network
from dockyard.model.sandbox import MODE_PRIVATE, Sandbox


@dataclass(frozen=True)
class DnsView:
    records: Records
    resolvers: Mapping[str, str]  # sandbox id → netns path
    upstreams: Mapping[str, tuple[str, ...]]  # sandbox id → its own --dns servers


def has_embedded_dns(network: Network) -> bool:
    return network.user_defined


def dns_view(state: State, memo: ViewMemo | None = None) -> DnsView:
    """The view of ``state``: it depends on nothing else.

    ``memo`` (kept by the caller between views, one caller at a time) changes nothing
    in the result, only its cost: every engine change is a whole new state in which
    nearly every object is the one the previous state had, so with the memo a change
    costs what changed, not every endpoint (see :meth:`ViewMemo.derive` and
    :func:`derive_records`)."""
    if memo is None:
        endpoints, resolvers, upstreams, internal = _view_anew(state, None)
        return DnsView(build_records(endpoints, internal), resolvers, upstreams)
    try:
        derived = memo.derive(state)
        if derived is None or memo.records is None:
            endpoints, resolvers, upstreams, internal = _view_anew(state, memo)
            records = build_records(endpoints, internal, memo.records)
        else:
            endpoints, resolvers, upstreams, internal, added, removed = derived
            records = derive_records(memo.records, endpoints, internal, added, removed)
    except BaseException:
        memo.forget()  # it may be half way to this state: start again next time
        raise
    memo.records = records
    return DnsView(records, resolvers, upstreams)


_Parts = tuple[list[DnsEndpoint], dict[str, str], dict[str, tuple[str, ...]], frozenset[str]]
# ... and the endpoints added to the previous view's and removed from them
_Derived = tuple[list[DnsEndpoint], dict[str, str], dict[str, tuple[str, ...]], frozenset[str],
                 list[DnsEndpoint], list[DnsEndpoint]]
_Order = tuple[str, int]  # (sandbox id, seq): a sandbox's endpoints in the order it joined
_ORDER = attrgetter("sandbox_id", "seq")
_SANDBOX_ID = attrgetter("sandbox_id")
#: Past this many changed objects, deriving a view costs about what building it does.
_MAX_CHANGED = 32


def _view_anew(state: State, memo: ViewMemo | None) -> _Parts:
    networks = {n.id: n for n in state.networks if has_embedded_dns(n)}
    sandboxes = {s.id: s for s in state.sandboxes}
    old = memo.made if memo is not None else {}
    made: dict[_Order, _Made] = {}
    order: list[_Order] | None = []
    endpoints = []
    resolvers: dict[str, str] = {}
    orphaned: set[str] = set()
    for endpoint in sorted(state.endpoints, key=_ORDER):
        network = networks.get(endpoint.network_id)
        sandbox = sandboxes.get(endpoint.sandbox_id)
        if network is None or sandbox is None or endpoint.state != "ready":
            if sandbox is None:
                orphaned.add(endpoint.sandbox_id)
            continue
        key = (endpoint.sandbox_id, endpoint.seq)
        done = _make(endpoint, network, sandbox, old.get(key))
        if order is not None:
            if key in made:
                order = None  # two endpoints in one place: only sorting decides
            else:
                made[key] = done
                order.append(key)
        endpoints.append(done[2])
        if sandbox.mode == MODE_PRIVATE and sandbox.netns:
            resolvers[sandbox.id] = sandbox.netns
    internal = frozenset(n.id for n in networks.values() if n.internal)
    upstreams = {s.id: s.dns for s in state.sandboxes if s.dns and s.id in resolvers}
    if memo is not None:
        memo.state = state
        memo.networks, memo.sandboxes, memo.internal = networks, sandboxes, internal
        memo.orphaned = frozenset(orphaned)
        memo.derivable = order is not None
        memo.made = made  # (when not derivable, still good for _make's reuse)
        memo.order = order or []
        memo.sequence = list(endpoints) if order is not None else []
        memo.resolvers, memo.upstreams = resolvers, upstreams
    return endpoints, resolvers, upstreams, internal


# What one endpoint gave the view: the endpoint, everything _dns_endpoint read from it,
# its network and its sandbox (so an unchanged one is not made again), and the result.
_Made = tuple[Endpoint, tuple[object, ...], DnsEndpoint]


def _make(endpoint: Endpoint, network: Network, sandbox: Sandbox, old: _Made | None) -> _Made:
    # Everything _dns_endpoint reads, and nothing else.
    inputs = (endpoint.id, endpoint.aliases, endpoint.ipv4_address, endpoint.ipv6_address,
              network.id, network.name, sandbox.id, sandbox.name, sandbox.hostname)
    if old is not None and old[1] == inputs:
        return endpoint, inputs, old[2]
    return endpoint, inputs, _dns_endpoint(endpoint, network, sandbox)


class ViewMemo:
    """What :func:`dns_view` made of the last state it saw, to derive the next view from.

    Objects are told apart by identity: the engine derives each state from the last one
    (``State.put_endpoint`` and friends), so an endpoint or sandbox that did not change
    is the same object. The last state is held, so none of its objects' ids is reused.
    """

    def __init__(self) -> None:
        self.records: Records | None = None  # the last view's records
        self.state: State | None = None
        self.networks: dict[str, Network] = {}  # id → network with embedded DNS
        self.sandboxes: dict[str, Sandbox] = {}  # id → sandbox
        # The endpoints in the view by place (sandbox id, seq), those places in order,
        # and the view's DnsEndpoints in that order. Not derivable when two endpoints
        # share a place, which only the full sort can order.
        self.made: dict[_Order, _Made] = {}
        self.order: list[_Order] = []
        self.sequence: list[DnsEndpoint] = []
        self.derivable = False
        # Ids of missing sandboxes that endpoints name (and maybe more): should one
        # come, all endpoints are searched for theirs.
        self.orphaned: frozenset[str] = frozenset()
        self.resolvers: dict[str, str] = {}
        self.upstreams: dict[str, tuple[str, ...]] = {}
        self.internal: frozenset[str] = frozenset()

    def forget(self) -> None:
        """Derive nothing from what is held: the next view is built anew."""
        self.state = None
        self.records = None
        self.derivable = False

    def derive(self, state: State) -> _Derived | None:
        """The view's parts for ``state`` from the last state's, or None when there is
        no last state to go by or too much changed (then the view is built anew).

        Python looks only at the endpoints that are new objects and those of sandboxes
        that are: finding them is a C-level walk along the old and new tuples
        (:func:`_changes`), and the rest is copies of dicts and lists and bisection in
        the sorted list of places.
        """
        before = self.state
        if before is None or not self.derivable:
            return None
        if len(state.networks) != len(before.networks) or not all(
                map(operator.is_, state.networks, before.networks)):
            return None  # a network changed (seldom): worked out anew
        sandbox_changes = _changes(before.sandboxes, state.sandboxes)
        endpoint_changes = _changes(before.endpoints, state.endpoints)
        if sandbox_changes is None or endpoint_changes is None:
            return None
        gone_sandboxes, came_sandboxes = sandbox_changes
        gone, came = endpoint_changes

        sandboxes = self.sandboxes.copy()
        for sandbox in gone_sandboxes:
            if sandboxes.get(sandbox.id) is sandbox:
                del sandboxes[sandbox.id]
        for sandbox in came_sandboxes:
            sandboxes[sandbox.id] = sandbox
        # A sandbox that is a new object may have a new name, hostname, netns, ...:
        # its endpoints that stayed are looked at again. Those in the view are found by
        # their places; others were left out for their network or state, which it does
        # not change, or for want of the sandbox (orphaned): then all are searched.
        renewed = {s.id for s in came_sandboxes} | {s.id for s in gone_sandboxes}
        stayed: list[Endpoint] = []
        if renewed:
            moved = {id(e) for e in gone} | {id(e) for e in came}
            for sandbox_id in renewed:
                place = bisect_left(self.order, (sandbox_id,))
                while place < len(self.order) and self.order[place][0] == sandbox_id:
                    endpoint = self.made[self.order[place]][0]
                    if id(endpoint) not in moved:
                        stayed.append(endpoint)
                    place += 1
            if not renewed.isdisjoint(self.orphaned):
                listed = {id(e) for e in stayed}
                stayed += [e for e in compress(state.endpoints,
                                               map(renewed.__contains__,
                                                   map(_SANDBOX_ID, state.endpoints)))
                           if id(e) not in moved and id(e) not in listed]

        made = self.made.copy()
        order = self.order.copy()
        sequence = self.sequence.copy()
        old: dict[_Order, _Made] = {}
        for endpoint in (*gone, *stayed):
            key = (endpoint.sandbox_id, endpoint.seq)
            done = made.get(key)
            if done is not None and done[0] is endpoint:
                old[key] = made.pop(key)
                place = bisect_left(order, key)
                del order[place]
                del sequence[place]
        placed: list[DnsEndpoint] = []
        orphaned = self.orphaned
        for endpoint in (*came, *stayed):
            network = self.networks.get(endpoint.network_id)
            owner = sandboxes.get(endpoint.sandbox_id)
            if network is None or owner is None or endpoint.state != "ready":
                if owner is None and endpoint.sandbox_id not in orphaned:
                    orphaned = orphaned | {endpoint.sandbox_id}
                continue
            key = (endpoint.sandbox_id, endpoint.seq)
            if key in made:
                return None  # two endpoints in one place: only sorting decides
            made[key] = done = _make(endpoint, network, owner, old.get(key))
            place = bisect_left(order, key)
            order.insert(place, key)
            sequence.insert(place, done[2])
            placed.append(done[2])
        # What the records see change: an endpoint made again just as it was is the same
        # DnsEndpoint object, and neither.
        kept = {id(d) for d in placed} & {id(done[2]) for done in old.values()}
        added = [d for d in placed if id(d) not in kept]
        removed = [done[2] for done in old.values() if id(done[2]) not in kept]

        resolvers = self.resolvers.copy()
        upstreams = self.upstreams.copy()
        for sandbox_id in renewed.union(map(_SANDBOX_ID, came), map(_SANDBOX_ID, gone)):
            owner = sandboxes.get(sandbox_id)
            place = bisect_left(order, (sandbox_id,))  # its first endpoint in the view
            if (owner is not None and owner.mode == MODE_PRIVATE and owner.netns
                    and place < len(order) and order[place][0] == sandbox_id):
                resolvers[sandbox_id] = owner.netns
            else:
                resolvers.pop(sandbox_id, None)
            if owner is not None and owner.dns and sandbox_id in resolvers:
                upstreams[sandbox_id] = owner.dns
            else:
                upstreams.pop(sandbox_id, None)

        self.state = state
        self.sandboxes = sandboxes
        self.made, self.order, self.sequence = made, order, sequence
        self.orphaned = orphaned
        self.resolvers, self.upstreams = resolvers, upstreams
        return list(sequence), resolvers, upstreams, self.internal, added, removed


_T = TypeVar("_T")


def _changes(old: tuple[_T, ...], new: tuple[_T, ...]) -> tuple[list[_T], list[_T]] | None:
    """(gone, came): the items of ``old`` not in ``new`` and those of ``new`` not in
    ``old``, by identity; None past _MAX_CHANGED.

    Made for what ``State.put_*`` and ``drop_*`` leave: the old items in their order,
    less some, then the new ones. Each run of unchanged items costs one C-level walk
    (``map(is_not, ...)``, the first difference picked by ``compress``), so the cost is
    that of the changes. At a difference, the old item is taken as gone unless it is
    the next new one (then the new item was put in before it). Any other shape comes
    out as more items gone and come again, which is still right, or None.
    """
    gone: list[_T] = []
    came: list[_T] = []
    i = j = 0
    while True:
        differ = next(compress(count(), map(operator.is_not, islice(old, i, None),
                                            islice(new, j, None))), None)
        if differ is None:  # one of them ran out
            common = min(len(old) - i, len(new) - j)
            gone += old[i + common:]
            came += new[j + common:]
            break
        i += differ
        j += differ
        if j + 1 < len(new) and old[i] is new[j + 1]:
            came.append(new[j])  # put in here
            j += 1
        else:
            gone.append(old[i])  # taken out (if it was moved, it comes again)
            i += 1
        if len(gone) + len(came) > _MAX_CHANGED:
            return None
    if len(gone) + len(came) > _MAX_CHANGED:
        return None
    return gone, came


def _dns_endpoint(endpoint: Endpoint, network: Network, sandbox: Sandbox) -> DnsEndpoint:
    names = tuple(dict.fromkeys(
        n for n in (sandbox.name, *endpoint.aliases, sandbox.id[:12], sandbox.hostname) if n
    ))
    return DnsEndpoint(
        network_id=network.id,
        network_name=network.name,
        sandbox_id=sandbox.id,
        names=names,
        ipv4=_v4(endpoint.ipv4_address),
        ipv6=_v6(endpoint.ipv6_address),
    )


def _v4(address: str | None) -> IPv4Address | None:
    parsed = stored_address(address) if address else None
    return parsed if isinstance(parsed, IPv4Address) else None


def _v6(address: str | None) -> IPv6Address | None:
    parsed = stored_address(address) if address else None
    return parsed if isinstance(parsed, IPv6Address) else None
