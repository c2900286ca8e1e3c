"""Network drivers: each turns networks and endpoints into kernel plans, never syscalls."""

from __future__ import annotations

from dockyard.drivers.base import NetworkDriver
from dockyard.drivers.registry import get_driver

__all__ = ["NetworkDriver", "get_driver"]
