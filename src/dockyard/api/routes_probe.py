"""``POST /containers/{id}/dockyard-probe``, Dockyard's own: what the container sees of
the network, looked at from inside its namespace by the daemon (``kernel/probe.py``), so
that the image needs no tools. Body ``{"Name": "db"}`` (asked of the resolver at
127.0.0.11, then each address it gives pinged) or ``{"Address": "10.0.0.3"}`` (pinged);
``Timeout`` in seconds, 1 by default. The answer: ``{"Name", "Addresses", "Reached"}``.

``compose plan --verify`` uses it to hold the plan's reachability matrix against the
running project."""

from __future__ import annotations

from ipaddress import ip_address

from aiohttp import web

from dockyard.api.app import backend, json_response, path_ref
from dockyard.api.backend import Backend
from dockyard.api.bodies import parse_json_body
from dockyard.api.routes_containers import manager
from dockyard.errors import Conflict, InvalidParameter
from dockyard.runtime.container import RUNNING


def _namespace(b: Backend, ref: str) -> str | None:
    """The network namespace the container's processes use (None: the host's, which is
    the daemon's own)."""
    m = manager(b)
    c = m.get(ref)
    if c.state.status != RUNNING:
        raise Conflict(f"Container {c.id} is not running")
    mode = c.spec.network_mode
    if mode == "host":
        return None
    owner = m.get(mode.partition(":")[2]).id if mode.startswith("container:") else c.id
    return b.engine.sandbox(owner).netns


async def probe(request: web.Request) -> web.StreamResponse:
    from dockyard.kernel import probe as kernel_probe

    b = backend(request)
    body = parse_json_body(await request.read(), request.headers.get("Content-Type"))
    name, address = body.get("Name"), body.get("Address")
    if not isinstance(name, str) and not isinstance(address, str):
        raise InvalidParameter('probe: give "Name" (a name to resolve) or "Address"')
    if isinstance(address, str):
        try:
            ip_address(address)
        except ValueError:
            raise InvalidParameter(f'probe: invalid Address "{address}"') from None
    timeout = body.get("Timeout", 1)
    if not isinstance(timeout, int | float) or not 0 < timeout <= 10:
        raise InvalidParameter(f'probe: invalid Timeout "{timeout}": seconds, at most 10')
    netns = await b.run(_namespace, b, path_ref(request))

    def look() -> tuple[list[str], list[str]]:
        found = (kernel_probe.resolve(netns, name, timeout=timeout) if isinstance(name, str)
                 else [str(address)])
        return found, [a for a in found if kernel_probe.echo(netns, a, timeout)]

    found, reached = await b.run(look)
    return json_response({"Name": name or "", "Addresses": found, "Reached": reached})


ROUTES = [
    ("POST", "/containers/{id}/dockyard-probe", probe),
]
