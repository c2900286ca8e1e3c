"""The daemon's embedded resolver: one :class:`DnsServer` on the daemon's event loop.

It answers at 127.0.0.11 in every sandbox on a user-defined network, fed by a
:class:`DnsBinding` subscribed to the engine. At start it applies the state as it is,
so containers adopted after a daemon restart get their resolvers back (between the
daemon's stop and its next start they have none, as with Docker, whose resolver also
lives in dockerd).

Default upstreams are the daemon's ``--dns`` servers or else the host resolv.conf's
nameservers, loopback ones included: the server sends from the daemon's own (host)
namespace, where 127.0.0.53 or a stub on 127.0.0.1 answers, which is what the
``host(...)`` marks in a container's resolv.conf promise. A sandbox's own ``--dns``
servers replace the defaults for it (the binding passes them through).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from dockyard.dns.binding import DnsBinding, dns_view
from dockyard.dns.resolvconf import parse_resolv_conf
from dockyard.dns.server import DEFAULT_TIMEOUT, DnsServer
from dockyard.engine import Engine

log = logging.getLogger("dockyard.daemon.dns")


def default_upstreams(dns: Sequence[str], host_resolv_conf: str | None) -> tuple[str, ...]:
    """``--dns`` wins; otherwise every nameserver of the host file (pure)."""
    if dns:
        return tuple(dns)
    return parse_resolv_conf(host_resolv_conf or "").nameservers


def read_host_resolv_conf(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError as exc:
        log.warning("dns: cannot read %s (%s): no upstream servers", path, exc)
        return None


@dataclass
class EmbeddedDns:
    server: DnsServer
    binding: DnsBinding

    async def close(self) -> None:
        """Stop answering in every sandbox; the engine may still notify, harmlessly."""
        self.binding.detach()
        await self.server.close()


async def start_embedded_dns(
    engine: Engine,
    dns: Sequence[str],
    resolv_conf_path: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> EmbeddedDns:
    """Serve the engine's current state and follow its changes; call on the daemon's loop."""
    upstreams = default_upstreams(dns, read_host_resolv_conf(resolv_conf_path))
    server = DnsServer(default_upstreams=upstreams, timeout=timeout)
    binding = DnsBinding(server, asyncio.get_running_loop())
    engine.subscribe(binding.on_change)
    # Off the loop, so that apply() waits for the resolvers to be open before we go on.
    view = await asyncio.to_thread(lambda: dns_view(engine.state()))
    await asyncio.to_thread(binding.apply, view)
    log.info("embedded DNS serving %d sandbox(es); upstreams %s", len(server.sandboxes),
             ", ".join(upstreams) or "none")
    return EmbeddedDns(server, binding)
