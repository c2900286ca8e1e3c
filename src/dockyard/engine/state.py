"""A snapshot of everything stored, read in one transaction, for pure decisions."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeVar

from dockyard.errors import InvalidParameter, NotFound
from dockyard.model.endpoint import Endpoint
from dockyard.model.network import Network
from dockyard.model.sandbox import Sandbox
from dockyard.store.base import Store, Txn


@dataclass(frozen=True)
class State:
    networks: tuple[Network, ...]
    sandboxes: tuple[Sandbox, ...]
    endpoints: tuple[Endpoint, ...]

    @classmethod
    def load(cls, store: Store | Txn) -> State:
        return cls(
            networks=tuple(Network.from_doc(d) for d in store.list("network")),
            sandboxes=tuple(Sandbox.from_doc(d) for d in store.list("sandbox")),
            endpoints=tuple(Endpoint.from_doc(d) for d in store.list("endpoint")),
        )

    # Derived states: what a change will leave, without reading the store again.

    def put_network(self, network: Network) -> State:
        rest = tuple(n for n in self.networks if n.id != network.id)
        return replace(self, networks=(*rest, network))

    def put_sandbox(self, sandbox: Sandbox) -> State:
        rest = tuple(s for s in self.sandboxes if s.id != sandbox.id)
        return replace(self, sandboxes=(*rest, sandbox))

    def put_endpoint(self, endpoint: Endpoint) -> State:
        rest = tuple(e for e in self.endpoints if e.id != endpoint.id)
        return replace(self, endpoints=(*rest, endpoint))

    def drop_network(self, network_id: str) -> State:
        return replace(self, networks=tuple(n for n in self.networks if n.id != network_id))

    def drop_sandbox(self, sandbox_id: str) -> State:
        """Without the sandbox and every endpoint it had."""
        return replace(
            self,
            sandboxes=tuple(s for s in self.sandboxes if s.id != sandbox_id),
            endpoints=tuple(e for e in self.endpoints if e.sandbox_id != sandbox_id),
        )

    def drop_endpoint(self, endpoint_id: str) -> State:
        return replace(self, endpoints=tuple(e for e in self.endpoints if e.id != endpoint_id))

    def network(self, ref: str) -> Network:
        return find(ref, self.networks, "network")

    def sandbox(self, ref: str) -> Sandbox:
        return find(ref, self.sandboxes, "sandbox")

    def network_by_id(self, network_id: str) -> Network | None:
        return next((n for n in self.networks if n.id == network_id), None)

    def sandbox_by_id(self, sandbox_id: str) -> Sandbox | None:
        return next((s for s in self.sandboxes if s.id == sandbox_id), None)

    def endpoints_of_sandbox(self, sandbox_id: str) -> list[Endpoint]:
        return sorted((e for e in self.endpoints if e.sandbox_id == sandbox_id),
                      key=lambda e: e.seq)

    def endpoints_of_network(self, network_id: str) -> list[Endpoint]:
        return [e for e in self.endpoints if e.network_id == network_id]

    def endpoint(self, network_id: str, sandbox_id: str) -> Endpoint | None:
        return next((e for e in self.endpoints
                     if e.network_id == network_id and e.sandbox_id == sandbox_id), None)


T = TypeVar("T", Network, Sandbox)


def find(ref: str, items: tuple[T, ...], kind: str) -> T:
    """Docker's lookup order: full id, exact name, then a unique id prefix."""
    if not ref:
        raise InvalidParameter(f"{kind} name or id must not be empty")
    for item in items:
        if item.id == ref:
            return item
    for item in items:
        if item.name == ref:
            return item
    matches = [item for item in items if item.id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise InvalidParameter(f'{kind} id prefix "{ref}" is ambiguous: {len(matches)} match')
    raise NotFound(f"{kind} {ref} not found")
