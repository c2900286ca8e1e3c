"""Keep the embedded resolver in step with the engine's state.

``dns_view`` is pure: from a state snapshot it computes the records (every endpoint on a
user-defined network with its names: container name, network aliases, short id,
hostname) and which sandboxes get a resolver at 127.0.0.11 (those on at least one
user-defined network; the default bridge has no name resolution, as in Docker).
``DnsBinding`` applies a view to a running ``DnsServer`` whenever the engine commits a
change: the records are swapped at once on the caller's thread (a reference swap), and
resolvers are opened or closed on the server's loop before the caller returns, so a
name is resolvable the moment ``connect`` returns and gone the moment ``disconnect`` does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from dockyard.dns.records import DnsEndpoint, Records, build_records
from dockyard.dns.server import DnsServer
from dockyard.engine.state import State
from dockyard.errors import NotFound
from dockyard.ipam.parse import stored_address
from dockyard.model.endpoint import Endpoint
from dockyard.model.network import OPT_DEFAULT_BRIDGE, Network
from dockyard.model.sandbox import MODE_PRIVATE, Sandbox

log = logging.getLogger("dockyard.dns")

Sockets = tuple[socket.socket, socket.socket]  # a resolver's UDP and TCP sockets, bound


@dataclass(frozen=True)
class DnsView:
    records: Records
    resolvers: Mapping[str, str]  # sandbox id → netns path
    upstreams: Mapping[str, tuple[str, ...]]  # sandbox id → its own --dns servers


def has_embedded_dns(network: Network) -> bool:
    return network.driver == "bridge" and not network.bool_option(OPT_DEFAULT_BRIDGE, False)


def dns_view(state: State, memo: dict[object, DnsEndpoint] | None = None) -> DnsView:
    """``memo`` (kept by the caller between views) spares re-deriving the endpoints that
    did not change: every change is a whole new view, and most endpoints stay as they
    were."""
    networks = {n.id: n for n in state.networks if has_embedded_dns(n)}
    sandboxes = {s.id: s for s in state.sandboxes}
    endpoints = []
    resolvers: dict[str, str] = {}
    seen: dict[object, DnsEndpoint] = {}
    for endpoint in sorted(state.endpoints, key=lambda e: (e.sandbox_id, e.seq)):
        network = networks.get(endpoint.network_id)
        sandbox = sandboxes.get(endpoint.sandbox_id)
        if network is None or sandbox is None or endpoint.state != "ready":
            continue
        # Everything _dns_endpoint reads, and nothing else.
        key = (endpoint.id, endpoint.aliases, endpoint.ipv4_address, endpoint.ipv6_address,
               network.id, network.name, sandbox.id, sandbox.name, sandbox.hostname)
        dns_endpoint = memo.get(key) if memo is not None else None
        if dns_endpoint is None:
            dns_endpoint = _dns_endpoint(endpoint, network, sandbox)
        seen[key] = dns_endpoint
        endpoints.append(dns_endpoint)
        if sandbox.mode == MODE_PRIVATE and sandbox.netns:
            resolvers[sandbox.id] = sandbox.netns
    if memo is not None:
        memo.clear()
        memo.update(seen)
    internal = frozenset(n.id for n in networks.values() if n.internal)
    upstreams = {s.id: s.dns for s in state.sandboxes if s.dns and s.id in resolvers}
    return DnsView(build_records(endpoints, internal), resolvers, upstreams)


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


# Changes that never touch names or resolvers: a new sandbox has no endpoint yet, and a
# network is created empty and can only be removed once empty.
_NO_DNS_CHANGE = frozenset({"sandbox.create", "network.create", "network.destroy"})


class DnsBinding:
    """Applies views to ``server``, which runs on ``loop``.

    A new sandbox's resolver sockets are bound on the thread that applies the change (a
    cheap switch into its namespace), so 127.0.0.11 answers once the change returns:
    queries wait in the bound sockets until the loop starts serving them, and the caller
    does not wait for the loop. Closing resolvers is waited for (a disconnect returns
    with the address gone). The loop works through the changes in order (``_order``).
    """

    def __init__(self, server: DnsServer, loop: asyncio.AbstractEventLoop) -> None:
        self.server = server
        self.loop = loop
        self._lock = threading.Lock()
        self._served: dict[str, str] = {}  # sandbox id -> netns: bound, or being served
        self._failed: set[str] = set()  # served entries the loop could not serve after all
        self._order: asyncio.Lock | None = None  # made on the loop
        self._memo: dict[object, DnsEndpoint] = {}  # see dns_view
        self._detached = False

    def on_change(self, event: str, _object_id: str, state: State) -> None:
        """An engine listener: call it with every committed state.

        It never raises: the change is already committed, and a resolver that cannot be
        opened must not turn the caller's successful request into an error. Whatever
        failed is retried on the next change.
        """
        if event in _NO_DNS_CHANGE:
            return
        try:
            self.apply(dns_view(state, self._memo))
        except Exception:
            log.exception("dns: applying the engine's state failed")

    def detach(self) -> None:
        """Ignore every later change (the server is closing or closed)."""
        with self._lock:
            self._detached = True

    def apply(self, view: DnsView) -> None:
        with self._lock:
            if self._detached:
                return
            self.server.set_records(view.records)
            for sandbox_id in set(self.server.sandboxes) - set(view.resolvers):
                self.server.set_upstreams(sandbox_id, None)
            for sandbox_id, servers in view.upstreams.items():
                self.server.set_upstreams(sandbox_id, servers)
            while self._failed:
                self._served.pop(self._failed.pop(), None)
            closing = [s for s, netns in self._served.items() if view.resolvers.get(s) != netns]
            for sandbox_id in closing:
                del self._served[sandbox_id]
            opened = self._open(view.resolvers)
            if not closing and not opened:
                return
            future = asyncio.run_coroutine_threadsafe(self._sync(closing, opened), self.loop)
            if _on_loop(self.loop) or not closing:
                return  # (on the loop it runs right after this callback)
            future.result(timeout=10)

    def _open(self, wanted: Mapping[str, str]) -> dict[str, tuple[str, Sockets]]:
        opened: dict[str, tuple[str, Sockets]] = {}
        for sandbox_id, netns in wanted.items():
            if sandbox_id in self._served:
                continue
            try:
                opened[sandbox_id] = (netns, self.server.open_sockets(netns))
            except Exception:
                if not os.path.exists(netns):
                    # Removed since this state was read (a concurrent rm): the next change
                    # no longer lists it. Not worth a traceback.
                    log.debug("dns: sandbox %s is gone", sandbox_id[:12])
                    continue
                log.exception("dns: opening a resolver for sandbox %s in %s",
                              sandbox_id[:12], netns)
                continue
            self._served[sandbox_id] = netns
        return opened

    async def _sync(self, closing: list[str], opened: Mapping[str, tuple[str, Sockets]]
                    ) -> None:
        """Close and start resolvers; one sandbox's failure does not keep the others from
        being served."""
        if self._order is None:
            self._order = asyncio.Lock()
        async with self._order:
            for sandbox_id in closing:
                try:
                    await self.server.remove_sandbox(sandbox_id)
                except NotFound:
                    pass  # its resolver never got going (logged when that failed)
                except Exception:
                    log.exception("dns: closing the resolver of sandbox %s", sandbox_id[:12])
            for sandbox_id, (netns, sockets) in opened.items():
                try:
                    await self.server.add_sandbox(sandbox_id, netns, sockets)
                except Exception:
                    self._failed.add(sandbox_id)
                    log.exception("dns: serving sandbox %s", sandbox_id[:12])


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
