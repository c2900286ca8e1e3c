"""An in-memory kernel for unit tests of the engine's decisions (no root needed)."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network
from typing import Any

from dockyard import plan
from dockyard.errors import KernelError


class FakeKernel:
    def __init__(self, fail_on: type[plan.Step] | None = None) -> None:
        self.applied: list[plan.Step] = []
        self.devices: set[str] = set()
        self.namespaces: set[str] = set()
        self.fail_on = fail_on
        self.routes: list[IPv4Network | IPv6Network] = []
        self.busy_ports: set[int] = set()

    def _one(self, step: plan.Step) -> None:
        if self.fail_on is not None and isinstance(step, self.fail_on):
            raise KernelError(f"injected failure at {step.describe()}")
        self.applied.append(step)
        if isinstance(step, plan.CreateBridge):
            self.devices.add(step.name)
        elif isinstance(step, plan.CreateVeth):
            self.devices.add(step.host_ifname)
        elif isinstance(step, plan.DeleteLink) and step.netns is None:
            self.devices.discard(step.name)
        elif isinstance(step, plan.CreateNetns):
            self.namespaces.add(step.path)
        elif isinstance(step, plan.DeleteNetns):
            self.namespaces.discard(step.path)

    def apply(self, steps: Sequence[plan.Step]) -> None:
        done: list[plan.Step] = []
        try:
            for step in steps:
                self._one(step)
                done.append(step)
        except KernelError:
            self.revert(done)
            raise

    def revert(self, done: Sequence[plan.Step]) -> list[str]:
        for step in reversed(done):
            inverse = step.undo()
            if inverse is not None:
                self._one(inverse)
        return []

    def teardown(self, steps: Sequence[plan.Step]) -> list[str]:
        for step in steps:
            self._one(step)
        return []

    def host_routes(self) -> list[IPv4Network | IPv6Network]:
        return list(self.routes)

    def links(self, netns: str | None = None) -> list[dict[str, Any]]:
        return [{"name": name} for name in sorted(self.devices)]

    def netns_exists(self, path: str) -> bool:
        return path in self.namespaces

    def ephemeral_port_range(self) -> tuple[int, int]:
        return (32768, 32770)

    def port_is_free(self, proto: str, host_ip: str | None, port: int) -> bool:
        return port not in self.busy_ports

    def settle(self) -> None:
        pass

    def close(self) -> None:
        pass
