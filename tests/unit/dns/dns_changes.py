"""Random sequences of endpoint changes, for checking records and wire tables derived
change by change against the same built from scratch."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from dockyard.dns.records import DnsEndpoint

NETWORKS = {"n1": "front", "n2": "back", "n3": "Mixed.Case"}
# Shared names, names that differ only in case, and names shaped like another name's
# "name.network" form (so plain and suffixed forms collide).
NAMES = ["web", "api", "svc", "db", "WEB", "a", "a.front", "x", "y.back", "mixed.case",
         "svc.mixed.case"]


@dataclass(frozen=True)
class Change:
    endpoints: list[DnsEndpoint]
    internal: frozenset[str]
    # Exactly how ``endpoints`` differ from the previous step's (by identity), the others
    # in the same order; None when the step reordered them (derive_records cannot say).
    added: list[DnsEndpoint] | None
    removed: list[DnsEndpoint] | None


def endpoint(rng: random.Random) -> DnsEndpoint:
    net = rng.choice(list(NETWORKS))
    v4 = IPv4Address(f"10.0.0.{rng.randint(1, 12)}") if rng.random() < 0.85 else None
    v6 = IPv6Address(f"fd00::{rng.randint(1, 6)}") if rng.random() < 0.35 else None
    return DnsEndpoint(net, NETWORKS[net], f"sb{rng.randint(0, 9)}",
                       tuple(rng.sample(NAMES, rng.randint(0, 3))), v4, v6)


def changes(rng: random.Random, steps: int) -> Iterator[Change]:
    """Adds and removes (one or a few at a time, anywhere in the order), renames (an
    endpoint replaced by one with other names), internal networks switched, and now and
    then every endpoint made anew or the order shuffled."""
    endpoints = [endpoint(rng) for _ in range(rng.randint(0, 12))]
    internal: frozenset[str] = frozenset()
    yield Change(list(endpoints), internal, None, None)
    for _ in range(steps):
        added: list[DnsEndpoint] | None = []
        removed: list[DnsEndpoint] | None = []
        assert added is not None and removed is not None
        roll = rng.random()
        if roll < 0.35:
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                new = endpoint(rng)
                endpoints.insert(rng.randint(0, len(endpoints)), new)
                added.append(new)
        elif roll < 0.65 and endpoints:
            for _ in range(min(len(endpoints), rng.choice([1, 1, 1, 2]))):
                removed.append(endpoints.pop(rng.randrange(len(endpoints))))
        elif roll < 0.8 and endpoints:  # renamed: the same endpoint with other names
            i = rng.randrange(len(endpoints))
            old = endpoints[i]
            new = DnsEndpoint(old.network_id, old.network_name, old.sandbox_id,
                              tuple(rng.sample(NAMES, rng.randint(0, 3))), old.ipv4, old.ipv6)
            endpoints[i] = new
            added.append(new)
            removed.append(old)
        elif roll < 0.87:
            internal = frozenset(n for n in NETWORKS if rng.random() < 0.3)
        elif roll < 0.93:  # every object new, every value the same
            removed = list(endpoints)
            endpoints = [DnsEndpoint(e.network_id, e.network_name, e.sandbox_id, e.names,
                                     e.ipv4, e.ipv6) for e in endpoints]
            added = list(endpoints)
        elif roll < 0.97:
            rng.shuffle(endpoints)
            added = removed = None
        # else: nothing changed at all
        yield Change(list(endpoints), internal, added, removed)
