"""IP address management, as pure functions over values (Docker's default IPAM behaviour).

The engine passes in what is in use (other networks' subnets, host routes, endpoints'
addresses); nothing here reads the store or the kernel.
"""

from __future__ import annotations

from dockyard.ipam.allocator import allocate
from dockyard.ipam.config import PoolConfig, default_bridge_pool, default_gateway, make_pool
from dockyard.ipam.errors import AddressInUse, NoAvailablePool, PoolExhausted, PoolOverlap
from dockyard.ipam.parse import IPAddress, IPNetwork, overlaps
from dockyard.ipam.pools import DEFAULT_BRIDGE_SUBNET, choose_subnet, default_pool_subnets

__all__ = [
    "DEFAULT_BRIDGE_SUBNET",
    "AddressInUse",
    "IPAddress",
    "IPNetwork",
    "NoAvailablePool",
    "PoolConfig",
    "PoolExhausted",
    "PoolOverlap",
    "allocate",
    "choose_subnet",
    "default_bridge_pool",
    "default_gateway",
    "default_pool_subnets",
    "make_pool",
    "overlaps",
]
