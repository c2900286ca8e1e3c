"""The driver contract."""

from __future__ import annotations

from typing import Protocol

from dockyard import plan
from dockyard.model.endpoint import Endpoint
from dockyard.model.network import Network
from dockyard.model.sandbox import Sandbox


class NetworkDriver(Protocol):
    name: str
    # Does the network get IPAM pools and endpoints addresses?
    needs_ipam: bool
    # Can more than the predefined network of this driver exist?
    user_creatable: bool
    # Do endpoints get an interface in the sandbox (and so an eth index)?
    has_interface: bool
    # Does an endpoint also have an interface in the host's namespace (a veth's host end)?
    host_side: bool

    def validate_options(self, options: dict[str, str]) -> None: ...

    def plan_create(self, network: Network) -> list[plan.Step]: ...

    def plan_delete(self, network: Network) -> list[plan.Step]: ...

    def plan_join(self, network: Network, endpoint: Endpoint, sandbox: Sandbox) -> list[plan.Step]:
        ...

    def plan_leave(self, network: Network, endpoint: Endpoint, sandbox: Sandbox) -> list[plan.Step]:
        ...
