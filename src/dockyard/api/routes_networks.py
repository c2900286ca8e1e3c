"""``/networks``: list, inspect, create, connect, disconnect, delete, prune."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from dockyard.api.app import backend, json_response, path_ref
from dockyard.api.backend import Backend
from dockyard.api.bodies import parse_json_body
from dockyard.api.filters import parse_filters, prune_test
from dockyard.api.network_json import (
    NETWORK_FILTERS,
    PRUNE_FILTERS,
    filter_networks,
    network_doc,
    parse_connect,
    parse_create,
    parse_disconnect,
)
from dockyard.errors import Forbidden, NotFound
from dockyard.model.network import Network


async def _body(request: web.Request, required: bool = True) -> dict[str, object]:
    raw = await request.read()
    return dict(parse_json_body(raw, request.headers.get("Content-Type"), required=required))


async def list_networks(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    filters = parse_filters(request.query.get("filters"), NETWORK_FILTERS)
    state = await b.run(b.engine.state)
    networks = [n for n in state.networks if n.state == "ready"]
    chosen = filter_networks(networks, state, filters)
    return json_response([network_doc(n, None) for n in chosen])


def _find(b: Backend, ref: str) -> Network:
    try:
        network = b.engine.network(ref)
    except NotFound:
        raise NotFound(f"network {ref} not found") from None
    if network.state != "ready":
        raise NotFound(f"network {ref} not found")
    return network


async def inspect_network(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    ref = path_ref(request)
    scope = request.query.get("scope", "")
    state = await b.run(b.engine.state)
    network = _find(b, ref)
    if scope and scope != network.scope:
        raise NotFound(f"network {ref} not found")
    return json_response(network_doc(network, state))


async def create_network(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    req = parse_create(await _body(request))
    network = await b.run(
        b.engine.create_network, req.name, req.driver, pools=req.pools, internal=req.internal,
        attachable=req.attachable, enable_ipv6=req.enable_ipv6,
        enable_ipv4=req.enable_ipv4, options=req.options,
        labels=req.labels, ipam_driver=req.ipam_driver, ipam_options=req.ipam_options)
    return json_response({"Id": network.id, "Warning": ""}, 201)


async def delete_network(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    network = _find(b, path_ref(request))
    await b.run(b.engine.remove_network, network.id)
    return web.Response(status=204)


async def connect(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    network = _find(b, path_ref(request))
    req = parse_connect(await _body(request))
    container = await _container(b, req.container)
    if container is not None:
        await b.run(_manager(b).connect, container, network.id, aliases=req.aliases,
                    ipv4=req.ipv4, ipv6=req.ipv6, mac=req.mac, gw_priority=req.gw_priority)
        return web.Response(status=200)
    sandbox = b.sandbox_for_container(req.container)
    await b.run(b.engine.connect, network.id, sandbox.id, aliases=req.aliases, ipv4=req.ipv4,
                ipv6=req.ipv6, links=req.links, gw_priority=req.gw_priority, mac=req.mac)
    return web.Response(status=200)


async def disconnect(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    network = _find(b, path_ref(request))
    ref, force = parse_disconnect(await _body(request))
    container = await _container(b, ref)
    if container is not None:
        await b.run(_manager(b).disconnect, container, network.id, force=force)
        return web.Response(status=200)
    sandbox = b.sandbox_for_container(ref)
    await b.run(b.engine.disconnect, network.id, sandbox.id, force=force)
    return web.Response(status=200)


def _manager(b: Backend) -> Any:
    return b.containers


async def _container(b: Backend, ref: str) -> str | None:
    """The id of the container ``ref`` names; None when no container does (a bare
    sandbox made through the engine then stands for one)."""
    if b.containers is None:
        return None
    try:
        return str((await b.run(b.containers.get, ref)).id)
    except NotFound:
        return None


async def prune(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    wanted = prune_test(parse_filters(request.query.get("filters"), PRUNE_FILTERS))
    state = await b.run(b.engine.state)
    removed = []
    for network in state.networks:
        if network.predefined or network.state != "ready":
            continue
        if state.endpoints_of_network(network.id):
            continue
        if not wanted(network.labels, network.created):
            continue
        try:
            await b.run(b.engine.remove_network, network.id)
        except (Forbidden, NotFound):
            continue  # in use or gone since the snapshot: not ours to prune
        removed.append(network.name)
    return json_response({"NetworksDeleted": removed})


ROUTES = [
    ("GET", "/networks", list_networks),
    ("POST", "/networks/create", create_network),
    ("POST", "/networks/prune", prune),
    ("GET", "/networks/{id}", inspect_network),
    ("DELETE", "/networks/{id}", delete_network),
    ("POST", "/networks/{id}/connect", connect),
    ("POST", "/networks/{id}/disconnect", disconnect),
]
