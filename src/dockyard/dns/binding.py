"""Keep the embedded resolver in step with the engine's state.

``DnsBinding`` applies a view (``dns/view.py``) to a running ``DnsServer`` whenever the
engine commits a change: the records are swapped at once on the caller's thread (a
reference swap), and resolvers are opened or closed on the server's loop before the
caller returns, so a name is resolvable the moment ``connect`` returns and gone the
moment ``disconnect`` does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Mapping

from dockyard.dns.server import DnsServer
from dockyard.dns.view import DnsView, ViewMemo, dns_view
from dockyard.engine.state import State
from dockyard.errors import NotFound

__all__ = ["DnsBinding", "DnsView", "dns_view"]

log = logging.getLogger("dockyard.dns")

Sockets = tuple[socket.socket, socket.socket]  # a resolver's UDP and TCP sockets, bound


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
        self._memo = ViewMemo()  # see dns_view
        self._memo_lock = threading.Lock()  # changes may be told from several threads
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
            with self._memo_lock:
                view = dns_view(state, self._memo)
            self.apply(view)
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
