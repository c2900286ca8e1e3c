"""Drivers with no kernel work of their own: ``host`` and ``null`` (Docker's ``none``).

A container on ``host`` uses the host's namespace (its sandbox mode says so);
one on ``none`` gets a private namespace with only ``lo``.
"""

from __future__ import annotations

from dockyard import plan
from dockyard.errors import InvalidParameter
from dockyard.model.endpoint import Endpoint
from dockyard.model.network import Network
from dockyard.model.sandbox import Sandbox


class _NoKernelDriver:
    name = ""
    needs_ipam = False
    user_creatable = False
    has_interface = False
    host_side = False

    def validate_options(self, options: dict[str, str]) -> None:
        if options:
            raise InvalidParameter(f"the {self.name} driver takes no options")

    def plan_create(self, network: Network) -> list[plan.Step]:
        return []

    def plan_delete(self, network: Network) -> list[plan.Step]:
        return []

    def plan_join(self, network: Network, endpoint: Endpoint, sandbox: Sandbox) -> list[plan.Step]:
        return []

    def plan_leave(self, network: Network, endpoint: Endpoint, sandbox: Sandbox) -> list[plan.Step]:
        return []


class HostDriver(_NoKernelDriver):
    name = "host"


class NullDriver(_NoKernelDriver):
    name = "null"
