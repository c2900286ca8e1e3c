"""``/volumes``: create, list, inspect, remove, prune over the runtime's VolumeStore."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from dockyard.api.app import backend, json_response, query_bool
from dockyard.api.bodies import get_str, get_str_map, parse_json_body
from dockyard.api.events import Event
from dockyard.api.filters import bool_filter, match_any, match_labels, parse_filters, prune_test
from dockyard.api.routes_containers import manager
from dockyard.errors import Conflict, InvalidParameter, NotFound
from dockyard.model.ids import new_id
from dockyard.runtime.disk import tree_size
from dockyard.runtime.options import validate_volume_name

VOLUME_FILTERS = ("name", "label", "dangling", "driver")
PRUNE_FILTERS = ("label", "label!", "all")


async def create(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    m = manager(b)
    raw = await request.read()
    body = parse_json_body(raw, request.headers.get("Content-Type"), required=False)
    name = get_str(body, "Name") or new_id()
    driver = get_str(body, "Driver") or "local"
    if driver != "local":
        raise NotFound(f'plugin "{driver}" not found: only the local volume driver exists')
    if get_str_map(body, "DriverOpts"):
        raise InvalidParameter("volume driver options are not supported by this daemon")
    validate_volume_name(name)
    volume, made = await b.run(m.volumes.ensure, name, get_str_map(body, "Labels"))
    if made:
        b.events.publish(Event("volume", "create", volume.name, {"driver": "local"}))
    return json_response(await b.run(m.volumes.inspect, volume.name), 201)


def _docs(b: Any, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
    m = manager(b)
    dangling = bool_filter("dangling", filters.get("dangling", []))
    out = []
    for volume in m.volumes.list():
        if "name" in filters and not match_any(filters["name"], volume.name):
            continue
        if "label" in filters and not match_labels(filters["label"], volume.labels):
            continue
        if "driver" in filters and "local" not in filters["driver"]:
            continue
        if dangling is not None and (m.volume_user(volume.name) is None) != dangling:
            continue
        out.append(m.volumes.inspect(volume.name))
    return out


async def list_volumes(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    filters = parse_filters(request.query.get("filters"), VOLUME_FILTERS)
    return json_response({"Volumes": await b.run(_docs, b, filters), "Warnings": []})


async def inspect(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    name = request.match_info["name"]
    try:
        doc = await b.run(manager(b).volumes.inspect, name)
    except NotFound:
        raise NotFound(f"get {name}: no such volume") from None
    return json_response(doc)


async def remove(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    m = manager(b)
    name = request.match_info["name"]
    try:
        await b.run(m.volumes.remove, name, in_use=m.volume_user)
    except NotFound:
        if query_bool(request, "force"):
            return web.Response(status=204)
        raise
    b.events.publish(Event("volume", "destroy", name, {"driver": "local"}))
    return web.Response(status=204)


async def prune(request: web.Request) -> web.StreamResponse:
    """Unused anonymous volumes; named ones too with the ``all=true`` filter (Docker ≥ 23)."""
    b = backend(request)
    m = manager(b)
    filters = parse_filters(request.query.get("filters"), PRUNE_FILTERS)
    every = bool_filter("all", filters.get("all", [])) or False
    wanted = prune_test(filters)
    deleted = []
    reclaimed = 0
    for volume in await b.run(m.volumes.list):
        if not every and not volume.anonymous:
            continue
        if not wanted(volume.labels, volume.created):
            continue
        if await b.run(m.volume_user, volume.name) is not None:
            continue
        size = await b.run(tree_size, m.volumes.data_dir(volume.name))
        try:
            await b.run(m.volumes.remove, volume.name, in_use=m.volume_user)
        except (Conflict, NotFound):
            continue
        b.events.publish(Event("volume", "destroy", volume.name, {"driver": "local"}))
        deleted.append(volume.name)
        reclaimed += size
    return json_response({"VolumesDeleted": deleted, "SpaceReclaimed": reclaimed})


ROUTES = [
    ("GET", "/volumes", list_volumes),
    ("POST", "/volumes/create", create),
    ("POST", "/volumes/prune", prune),
    ("GET", "/volumes/{name}", inspect),
    ("DELETE", "/volumes/{name}", remove),
]
