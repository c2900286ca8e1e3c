"""Driver name → driver."""

from __future__ import annotations

from dockyard.drivers.base import NetworkDriver
from dockyard.drivers.bridge import BridgeDriver
from dockyard.drivers.macvlan import MacvlanDriver
from dockyard.drivers.overlay import OverlayDriver
from dockyard.drivers.simple import HostDriver, NullDriver
from dockyard.errors import NotFound

_DRIVERS: dict[str, NetworkDriver] = {
    "bridge": BridgeDriver(),
    "host": HostDriver(),
    "macvlan": MacvlanDriver(),
    "null": NullDriver(),
    "overlay": OverlayDriver(),
}


def get_driver(name: str) -> NetworkDriver:
    try:
        return _DRIVERS[name]
    except KeyError:
        raise NotFound(
            f'plugin "{name}" not found: Dockyard has the drivers {", ".join(sorted(_DRIVERS))}'
        ) from None
