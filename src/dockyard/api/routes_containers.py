"""``/containers`` and ``/exec``: wired to the runtime's container manager once it exists.

Until then, lookups answer as an engine with no containers would (an empty list, 404
for a name) so that ``docker inspect`` and ``docker ps`` keep working, and every other
container operation answers 501 with a message saying so."""

from __future__ import annotations

from aiohttp import web

from dockyard.api.app import backend, json_response
from dockyard.errors import NotFound, NotImplementedKind

_MISSING = ("containers are not available yet: this daemon was built without the container "
            "runtime (dockyard.runtime); networks and images work")


async def list_containers(request: web.Request) -> web.StreamResponse:
    if backend(request).containers is None:
        return json_response([])
    raise NotImplementedKind(_MISSING)


async def inspect_container(request: web.Request) -> web.StreamResponse:
    if backend(request).containers is None:
        raise NotFound(f"No such container: {request.match_info['id']}")
    raise NotImplementedKind(_MISSING)


async def not_yet(request: web.Request) -> web.StreamResponse:
    raise NotImplementedKind(_MISSING)


ROUTES = [
    ("GET", "/containers/json", list_containers),
    ("GET", "/containers/{id}/json", inspect_container),
    ("POST", "/containers/create", not_yet),
    ("POST", "/containers/{id}/{action}", not_yet),
    ("DELETE", "/containers/{id}", not_yet),
    ("GET", "/containers/{id}/{action}", not_yet),
    ("POST", "/exec/{id}/{action}", not_yet),
    ("GET", "/exec/{id}/json", not_yet),
]
