"""The aiohttp application: version prefixes, Docker's error shape, route table."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from dockyard import __version__
from dockyard.api import API_VERSION, MIN_API_VERSION
from dockyard.api.backend import Backend
from dockyard.errors import DockyardError, InvalidParameter

BACKEND: web.AppKey[Backend] = web.AppKey("backend", Backend)
log = logging.getLogger("dockyard.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_VERSION_RE = r"/v{version:[0-9]+\.[0-9]+}"


def backend(request: web.Request) -> Backend:
    return request.app[BACKEND]


def json_response(doc: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(doc, separators=(",", ":")).encode() + b"\n", status=status,
        content_type="application/json")


def error_response(status: int, message: str) -> web.Response:
    return json_response({"message": message}, status)


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def check_version(version: str | None) -> None:
    if version is None:
        return
    if _version_tuple(version) > _version_tuple(API_VERSION):
        raise InvalidParameter(
            f"client version {version} is too new. Maximum supported API version is "
            f"{API_VERSION}")
    if _version_tuple(version) < _version_tuple(MIN_API_VERSION):
        raise InvalidParameter(
            f"client version {version} is too old. Minimum supported API version is "
            f"{MIN_API_VERSION}, please upgrade your client to a newer version")


@web.middleware
async def docker_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes ``{"message": …}`` with the error kind's status."""
    try:
        check_version(request.match_info.get("version"))
        response = await handler(request)
    except DockyardError as err:
        return error_response(err.status, err.message)
    except web.HTTPNotFound:
        return error_response(404, "page not found")
    except web.HTTPMethodNotAllowed:
        return error_response(405, "method not allowed")
    except web.HTTPException:
        raise
    except Exception as err:  # a bug: answer 500 with the reason, keep serving
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, f"internal error: {err}")
    response.headers.setdefault("Api-Version", API_VERSION)
    response.headers.setdefault("Ostype", "linux")
    response.headers.setdefault("Server", f"Dockyard/{__version__} (linux)")
    return response


def add_route(app: web.Application, method: str, path: str, handler: Handler) -> None:
    """Register ``path`` bare and under every ``/vX.Y`` prefix (checked by the middleware)."""
    for prefix in ("", _VERSION_RE):
        if method == "GET":
            app.router.add_get(prefix + path, handler)  # HEAD too
        else:
            app.router.add_route(method, prefix + path, handler)


def make_app(backend_: Backend) -> web.Application:
    from dockyard.api import (
        routes_attach,
        routes_build,
        routes_commit,
        routes_containers,
        routes_df,
        routes_files,
        routes_images,
        routes_networks,
        routes_probe,
        routes_system,
        routes_update,
        routes_volumes,
    )

    app = web.Application(middlewares=[docker_errors], client_max_size=1 << 40)
    app[BACKEND] = backend_
    for module in (routes_system, routes_df, routes_networks, routes_images,
                   routes_containers, routes_update, routes_attach, routes_volumes,
                   routes_files, routes_commit, routes_build, routes_probe):
        for method, path, handler in module.ROUTES:
            add_route(app, method, path, handler)
    return app


def query_bool(request: web.Request, name: str, default: bool = False) -> bool:
    """Docker's boolean query values: 1/true/True are true, 0/false/"" false."""
    value = request.query.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes"):
        return True
    if lowered in ("0", "false", "no", ""):
        return False
    raise InvalidParameter(f'invalid boolean value "{value}" for query parameter "{name}"')


def path_ref(request: web.Request, key: str = "id") -> str:
    value = request.match_info[key]
    if not re.fullmatch(r"[^\x00-\x1f]+", value):
        raise InvalidParameter(f'invalid reference "{value}"')
    return value
