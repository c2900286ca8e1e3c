"""``POST /build``: the classic builder (``DOCKER_BUILDKIT=0 docker build``, and what the
docker CLI falls back to without buildx), streaming its progress as dockerd does.

What fails before the first step (a context that is no tar, a missing or malformed
Dockerfile, a bad tag) is an error status; once steps run, a failure ends the stream
with an ``errorDetail`` message, which the CLI prints and exits 1 on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

from aiohttp import web

from dockyard.api.app import backend, query_bool
from dockyard.api.backend import Backend
from dockyard.api.events import Event
from dockyard.api.routes_containers import manager
from dockyard.api.streams import spool_body
from dockyard.errors import DockyardError, InvalidParameter
from dockyard.images.reference import normalize_reference

if TYPE_CHECKING:
    from dockyard.build.builder import BuildOptions


def _line(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode() + b"\r\n"


def _json_map(request: web.Request, name: str) -> dict[str, Any]:
    raw = request.query.get(name)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise InvalidParameter(f'invalid {name} "{raw}": expected a JSON object')
    return value


def _options(request: web.Request) -> BuildOptions:
    from dockyard.build.builder import BuildOptions

    query = request.query
    if query.get("remote"):
        raise InvalidParameter("a remote build context needs network access: send the "
                               "context as a tar in the request body")
    if query.get("version") == "2":
        raise InvalidParameter("BuildKit is not supported here: build with the classic "
                               "builder (DOCKER_BUILDKIT=0)")
    tags = tuple(normalize_reference(t) for t in query.getall("t", []))
    hosts = tuple(h for item in query.getall("extrahosts", []) for h in item.split(",") if h)
    return BuildOptions(
        dockerfile=query.get("dockerfile") or "Dockerfile", tags=tags,
        build_args=_json_map(request, "buildargs"), labels=_json_map(request, "labels"),
        no_cache=query_bool(request, "nocache"), remove=query_bool(request, "rm", True),
        force_remove=query_bool(request, "forcerm"),
        network_mode=query.get("networkmode") or "default", target=query.get("target", ""),
        extra_hosts=hosts, quiet=query_bool(request, "q"))


async def build(request: web.Request) -> web.StreamResponse:
    # The builder is imported by the first build, not at the daemon's start.
    from dockyard.build.builder import Builder
    from dockyard.build.context import Context, unpack_context

    b = backend(request)
    options = _options(request)
    loop = asyncio.get_running_loop()
    messages: asyncio.Queue[str] = asyncio.Queue()

    def emit(text: str) -> None:
        loop.call_soon_threadsafe(messages.put_nowait, text)

    spool = await spool_body(request, b.images.tmp_root, "context-")
    directory = tempfile.mkdtemp(dir=b.images.tmp_root, prefix="context-")
    task: asyncio.Future[str] | None = None
    try:
        def prepare() -> tuple[Builder, Any]:
            unpack_context(spool, directory)
            builder = Builder(manager(b), Context(directory), options, emit)
            return builder, builder.load()

        builder, dockerfile = await b.run(prepare)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        task = asyncio.ensure_future(b.run(builder.build, dockerfile))
        try:
            await _stream(response, task, messages)
            image = await _finish(b, task, options.tags)
            await _report(response, image, options.tags, options.quiet)
        except ConnectionResetError:
            pass  # the client left; the build runs on (below)
        except Exception as err:  # every failure of a step ends the stream in words
            message = err.message if isinstance(err, DockyardError) else f"build failed: {err}"
            with contextlib.suppress(ConnectionResetError):
                await response.write(_line({"errorDetail": {"message": message},
                                            "error": message}))
                await response.write_eof()
        return response
    finally:
        if task is not None and not task.done():
            # The client went away mid-build: the steps run on to their end, and the
            # context they read is removed only then.
            await asyncio.wait({task})
        with contextlib.suppress(FileNotFoundError):
            os.unlink(spool)
        shutil.rmtree(directory, ignore_errors=True)


async def _stream(response: web.StreamResponse, task: asyncio.Future[str],
                  messages: asyncio.Queue[str]) -> None:
    """The build's messages as they come, until it ends and all are sent."""
    while not task.done() or not messages.empty():
        getter = asyncio.ensure_future(messages.get())
        await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
        if getter.done():
            await response.write(_line({"stream": getter.result()}))
        else:
            getter.cancel()


async def _finish(b: Backend, task: asyncio.Future[str], tags: tuple[str, ...]) -> str:
    """The built image (the build's error raised as it is), tagged."""
    image = task.result()
    for tag in tags:
        await b.run(b.images.tag, image, tag)
        b.events.publish(Event("image", "tag", image, {"name": tag}))
    return image


async def _report(response: web.StreamResponse, image: str, tags: tuple[str, ...],
                  quiet: bool) -> None:
    await response.write(_line({"aux": {"ID": image}}))
    if quiet:
        await response.write(_line({"stream": image + "\n"}))
    else:
        await response.write(_line({"stream": f"Successfully built {image[7:19]}\n"}))
        for tag in tags:
            await response.write(_line({"stream": f"Successfully tagged {tag}\n"}))
    await response.write_eof()


ROUTES = [
    ("POST", "/build", build),
]
