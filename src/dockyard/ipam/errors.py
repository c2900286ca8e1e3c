"""IPAM's own error classes, each a subclass of one of Dockyard's error kinds.

Callers may catch the precise class (e.g. to retry on another pool) while the API and CLI
only look at the kind.
"""

from __future__ import annotations

from dockyard.errors import Conflict, Forbidden, Unavailable


class NoAvailablePool(Unavailable):
    """Every default pool overlaps an existing network or a host route."""


class PoolOverlap(Forbidden):
    """A user-specified subnet overlaps the subnet of an existing network."""


class PoolExhausted(Unavailable):
    """No free address is left in a network's subnet (or its ip-range)."""


class AddressInUse(Conflict):
    """A requested static address is already held by an endpoint, the gateway or an aux entry."""
