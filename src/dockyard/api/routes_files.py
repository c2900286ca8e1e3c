"""``/containers/{id}/archive`` (``docker cp``), ``/export`` and ``/changes`` (``diff``).

The file work is :mod:`dockyard.runtime.files`' (which view of the container a request
sees, and why, is told there). Here: Docker's HTTP shapes. An archive is produced by a
thread of its own into a pipe that the loop drains into the response, so a large copy
holds neither a worker of the API pool nor the whole tar in memory; everything that can
fail with a status (no such container, no such path) is settled before the first byte.
A failure once the tar is under way can only cut the connection, which clients see as
a broken archive rather than a complete but short one.

An upload is spooled to a file first: it is then unpacked by one worker with no network
wait in between, and a stopped container's lock is held only that long.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from typing import IO, Any

from aiohttp import web

from dockyard.api.app import backend, json_response, path_ref, query_bool
from dockyard.api.backend import Backend
from dockyard.api.routes_containers import manager, publish
from dockyard.api.streams import spool_body
from dockyard.archivepath import encode_stat_header
from dockyard.images.layers import decompressed
from dockyard.kernel.fstar import write_archive
from dockyard.runtime.container import Container
from dockyard.runtime.files import ContainerFiles

STAT_HEADER = "X-Docker-Container-Path-Stat"
TAR = "application/x-tar"
_CHUNK = 1 << 16
log = logging.getLogger("dockyard.api")


def files(b: Backend) -> ContainerFiles:
    return ContainerFiles(manager(b))


async def _stream(request: web.Request, b: Backend, produce: Callable[[IO[bytes]], Any],
                  headers: dict[str, str]) -> web.StreamResponse:
    """Run ``produce(out)`` in a thread of its own and send what it writes, chunked."""
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with os.fdopen(write_fd, "wb", buffering=_CHUNK) as out:
                produce(out)
        except BrokenPipeError:
            pass  # the client went away; the reading side is closed
        except BaseException as err:
            failure.append(err)
            log.warning("%s %s: archive cut short: %s", request.method, request.path, err)

    worker = threading.Thread(target=run, name="dockyard-archive", daemon=True)
    response = web.StreamResponse(headers=headers)
    try:
        await response.prepare(request)
        worker.start()
        # A client may hang up once it has read the archive's end (the docker CLI does,
        # before the last chunk): nothing is left to tell it.
        with contextlib.suppress(ConnectionError):
            while chunk := await b.run(os.read, read_fd, _CHUNK):
                await response.write(chunk)
            await b.run(worker.join)
            if failure and request.transport is not None:
                request.transport.close()  # no end-of-chunks: the client sees a broken body
                return response
            await response.write_eof()
    finally:
        os.close(read_fd)  # a writer still at work gets EPIPE and stops
        if worker.ident is None:
            os.close(write_fd)  # never started: the pipe's other end is still ours
        else:
            # What it writes from (the container's root) is closed by the caller once this
            # returns: the thread must be done with the descriptor first.
            await b.run(worker.join)
    return response


# ---------------------------------------------------------------------------- archive


async def archive(request: web.Request) -> web.StreamResponse:
    """``HEAD`` (the path stat only) and ``GET`` (the stat, and the tar) of
    ``/containers/{id}/archive?path=P``."""
    b = backend(request)
    ref = path_ref(request)
    path = request.query.get("path", "")
    if request.method == "HEAD":
        doc = await b.run(files(b).stat, ref, path)
        return web.Response(status=200, headers={STAT_HEADER: encode_stat_header(doc)})
    resource = await b.run(files(b).archive, ref, path)
    try:
        publish(b, resource.container, "archive-path")
        headers = {STAT_HEADER: encode_stat_header(resource.stat), "Content-Type": TAR}
        return await _stream(request, b, resource.write, headers)
    finally:
        resource.close()


def _extract_file(service: ContainerFiles, ref: str, path: str, spool: str,
                  no_overwrite: bool, copy_uid_gid: bool) -> Container:
    with open(spool, "rb") as raw:
        return service.extract(ref, path, decompressed(raw),
                               no_overwrite_dir_non_dir=no_overwrite,
                               copy_uid_gid=copy_uid_gid)


async def put_archive(request: web.Request) -> web.StreamResponse:
    """``PUT /containers/{id}/archive?path=DIR``: unpack the body (a tar, which may be
    gzip, bzip2 or xz compressed) into the directory DIR."""
    b = backend(request)
    ref = path_ref(request)
    path = request.query.get("path", "")
    no_overwrite = query_bool(request, "noOverwriteDirNonDir")
    copy_uid_gid = query_bool(request, "copyUIDGID")
    await b.run(manager(b).get, ref)  # an unknown container is refused before the upload
    spool = await spool_body(request, b.images.tmp_root, "cp-")
    try:
        c = await b.run(_extract_file, files(b), ref, path, spool, no_overwrite, copy_uid_gid)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(spool)
    publish(b, c, "extract-to-dir")
    return web.Response(status=200)


# ----------------------------------------------------------------- export and changes


async def export(request: web.Request) -> web.StreamResponse:
    """``GET /containers/{id}/export``: the container's filesystem as one tar."""
    b = backend(request)
    c, root = await b.run(files(b).export, path_ref(request))

    def produce(out: IO[bytes]) -> int:
        with root:
            return write_archive(root, "/", "", out)

    try:
        publish(b, c, "export")
        return await _stream(request, b, produce, {"Content-Type": TAR})
    finally:
        root.close()


async def changes(request: web.Request) -> web.StreamResponse:
    """``GET /containers/{id}/changes``: null when nothing changed, as dockerd answers."""
    b = backend(request)
    _, found = await b.run(files(b).changes, path_ref(request))
    return json_response([{"Kind": kind, "Path": path} for path, kind in found] or None)


ROUTES = [
    ("GET", "/containers/{id}/archive", archive),  # HEAD too
    ("PUT", "/containers/{id}/archive", put_archive),
    ("GET", "/containers/{id}/export", export),
    ("GET", "/containers/{id}/changes", changes),
]
