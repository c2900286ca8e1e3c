"""``POST /containers/{id}/update`` (``docker update``): the restart policy and the memory
limits, of a running container at once. The other resources Docker's body carries (CPU
shares and quotas, cpusets, block I/O weights, pids limits) have no controller here:
each one given is ignored and named in ``Warnings``, as dockerd warns of a resource its
kernel lacks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from dockyard.api.app import backend, json_response, path_ref
from dockyard.api.bodies import get_int, get_obj, parse_json_body
from dockyard.api.container_json import restart_policy
from dockyard.api.routes_containers import manager, publish

APPLIED = frozenset({"RestartPolicy", "Memory", "MemorySwap"})
# Fields an update body may carry with nothing asked of them: zero or empty values.
_NEUTRAL: tuple[Any, ...] = (None, 0, "", [], {})


def _ignored(body: Mapping[str, Any]) -> list[str]:
    return sorted(k for k, v in body.items() if k not in APPLIED and v not in _NEUTRAL)


async def update_container(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    body = parse_json_body(await request.read(), request.headers.get("Content-Type"))
    # The docker CLI always sends a RestartPolicy, with an empty Name when --restart was
    # not given: as dockerd, only a named policy changes the container's.
    named = get_obj(body, "RestartPolicy").get("Name")
    restart = restart_policy(body) if named else None
    memory, swap = get_int(body, "Memory"), get_int(body, "MemorySwap")
    c = await b.run(manager(b).update, path_ref(request), restart=restart, memory=memory,
                    memory_swap=swap)
    publish(b, c, "update")
    warnings = [f"{field}: not supported by this daemon (no such cgroup controller), "
                "ignored" for field in _ignored(body)]
    return json_response({"Warnings": warnings})


ROUTES = [
    ("POST", "/containers/{id}/update", update_container),
]
