"""``/images``: import (``create?fromSrc=-``), load, save, list, inspect, history, tag,
remove, prune; and ``/build/prune``, which has nothing to prune here.

There is no registry here: a pull of an image that is not already stored is refused
with a message saying how to get it (import a root filesystem tarball or load a
``docker save`` archive)."""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from dockyard.api.app import backend, json_response, query_bool
from dockyard.api.backend import Backend
from dockyard.api.events import Event
from dockyard.api.filters import bool_filter, match_labels, parse_filters
from dockyard.api.image_prune import (
    PRUNE_FILTERS,
    prune_candidates,
    prune_rule,
    space_reclaimed,
)
from dockyard.api.streams import spool_body
from dockyard.errors import Conflict, InvalidParameter, NotFound
from dockyard.images.history import history_items

IMAGE_FILTERS = ("reference", "dangling", "label", "before", "since")


def _stream_line(doc: dict[str, Any]) -> bytes:
    """One message of Docker's JSON progress stream."""
    return json.dumps(doc, separators=(",", ":")).encode() + b"\r\n"


def _join_ref(repo: str, tag: str) -> str:
    return f"{repo}:{tag}" if repo and tag else repo


async def create_image(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    query = request.query
    source = query.get("fromSrc")
    if source is None:
        image = query.get("fromImage")
        if not image:
            raise InvalidParameter('invalid request: give "fromSrc" (import) or "fromImage"')
        ref = _join_ref(image, query.get("tag", ""))
        try:
            await b.run(b.images.resolve, ref)
        except NotFound:
            raise NotFound(
                f"pull access denied for {image}: no registry access: import the image "
                f"(dockyard import rootfs.tar {ref}) or load it (dockyard load -i "
                "image.tar)") from None
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        await response.write(_stream_line({"status": f"Status: Image is up to date for {ref}"}))
        await response.write_eof()
        return response
    if source != "-":
        raise InvalidParameter(
            f'invalid fromSrc "{source}": no network access here: send the tarball in the '
            'request body with fromSrc=-')
    target = _join_ref(query.get("repo", ""), query.get("tag", "")) or None
    changes = query.getall("changes", [])
    path = await spool_body(request, b.images.tmp_root, "upload-")
    try:
        image_id = await b.run(b.images.import_tar, path, target, changes=changes,
                               message=query.get("message", ""))
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    b.events.publish(Event("image", "import", image_id, {"name": target or image_id}))
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    await response.write(_stream_line({"status": image_id}))
    await response.write_eof()
    return response


async def load_images(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    path = await spool_body(request, b.images.tmp_root, "upload-")
    try:
        def load() -> list[str]:
            with open(path, "rb") as handle:
                return b.images.load(handle)

        loaded = await b.run(load)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    lines = b"".join(
        _stream_line({"stream": f"Loaded image{' ID' if ref.startswith('sha256:') else ''}: "
                                f"{ref}\n"}) for ref in loaded)
    return web.Response(body=lines, content_type="application/json")


async def list_images(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    filters = parse_filters(request.query.get("filters"), IMAGE_FILTERS)
    show_all = query_bool(request, "all")
    items = await b.run(b.images.list, _container_counter(b))
    if not show_all:
        # As dockerd: an untagged image another was made from (a build's intermediate
        # step) is listed only with all=1.
        parents = {item["ParentId"] for item in items}
        items = [item for item in items if item["RepoTags"] or item["Id"] not in parents]
    dangling = bool_filter("dangling", filters.get("dangling", []))
    references = filters.get("reference", [])
    created_of = {item["Id"]: int(item["Created"]) for item in items}
    bounds: dict[str, int] = {}
    for key in ("before", "since"):
        for ref in filters.get(key, []):
            bounds[key] = created_of.get(await b.run(b.images.resolve, ref), 0)
    chosen = []
    for item in items:
        if dangling is not None and (not item["RepoTags"]) != dangling:
            continue
        if "label" in filters and not match_labels(filters["label"], item["Labels"] or {}):
            continue
        if references:
            # As dockerd: only the tags that match are listed for a reference filter.
            tags = [t for t in item["RepoTags"] if any(_ref_matches(p, t) for p in references)]
            if not tags:
                continue
            item = {**item, "RepoTags": tags}
        if "before" in bounds and not item["Created"] < bounds["before"]:
            continue
        if "since" in bounds and not item["Created"] > bounds["since"]:
            continue
        chosen.append(item)
    return json_response(chosen)


def _ref_matches(pattern: str, tag: str) -> bool:
    """Docker's ``reference`` filter: a glob on the repository, optionally with a tag."""
    repo = tag.rpartition(":")[0]
    if ":" in pattern.rpartition("/")[2]:
        return fnmatch.fnmatchcase(tag, pattern)
    return fnmatch.fnmatchcase(repo, pattern)


def _container_counter(b: Any) -> Any:
    manager = b.containers
    if manager is None:
        return None

    def count(image_id: str) -> int:
        return sum(1 for c in manager.containers() if c.image_id == image_id)
    return count


async def inspect_image(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    return json_response(await b.run(b.images.inspect, request.match_info["name"]))


async def tag_image(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    repo = request.query.get("repo", "")
    if not repo:
        raise InvalidParameter("invalid reference format: repository name must have at "
                               "least one component")
    target = _join_ref(repo, request.query.get("tag", ""))
    source = request.match_info["name"]
    await b.run(b.images.tag, source, target)
    b.events.publish(Event("image", "tag", await b.run(b.images.resolve, target),
                           {"name": target}))
    return web.Response(status=201)


async def remove_image(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    name = request.match_info["name"]
    in_use = b.containers.image_user if b.containers is not None else None
    result = await b.run(b.images.remove, name, force=query_bool(request, "force"),
                         in_use=in_use, prune_parents=not query_bool(request, "noprune"))
    _publish_removals(b, result)
    return json_response(result)


def _publish_removals(b: Backend, result: Sequence[dict[str, str]]) -> None:
    """An ``untag`` or ``delete`` event for each entry of a removal's answer."""
    for entry in result:
        for action, ref in entry.items():
            b.events.publish(Event("image", action.lower().replace("deleted", "delete")
                                   .replace("untagged", "untag"), ref, {"name": ref}))


async def image_history(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    record = await b.run(b.images.get, request.match_info["name"])
    sizes = await b.run(b.images.layer_sizes)
    ancestors = await b.run(b.images.ancestors, record)
    return json_response(history_items(record, sizes, ancestors))


async def prune_images(request: web.Request) -> web.StreamResponse:
    """Each chosen image is removed the way ``docker rmi`` would, without force: a tagged
    image tag by tag (the last untag deletes it), a dangling one by id. A removal refused
    because a container started using the image meanwhile is skipped, as dockerd does."""
    b = backend(request)
    rule = prune_rule(parse_filters(request.query.get("filters"), PRUNE_FILTERS),
                      datetime.now(UTC))
    m = b.containers
    used = {c.image_id for c in await b.run(m.containers)} if m is not None else set()
    in_use = m.image_user if m is not None else None
    sizes = await b.run(b.images.layer_sizes)
    removed: list[dict[str, str]] = []
    for record in prune_candidates(await b.run(b.images.images), rule, used):
        for name in record.repo_tags or (record.id,):
            try:
                result = await b.run(b.images.remove, name, in_use=in_use,
                                     prune_parents=True)
            except (Conflict, NotFound):  # NotFound: pruned already, as a parent
                continue
            _publish_removals(b, result)
            removed += result
    reclaimed = space_reclaimed(removed, sizes)
    b.events.publish(Event("image", "prune", "", {"reclaimed": str(reclaimed)}))
    return json_response({"ImagesDeleted": removed or None, "SpaceReclaimed": reclaimed})


async def prune_build_cache(request: web.Request) -> web.StreamResponse:
    """No builder runs here, so there is no build cache: nothing is ever deleted. Answered
    so that ``docker system prune`` (which always asks) completes."""
    return json_response({"CachesDeleted": None, "SpaceReclaimed": 0})


async def save_images(request: web.Request) -> web.StreamResponse:
    """``GET /images/{name}/get`` and ``GET /images/get?names=…``: a ``docker save``
    archive. It is written to a temp file first and sent from there, so that a bad name
    or an unreadable layer is an error status, not a cut-off archive."""
    b = backend(request)
    if "name" in request.match_info:
        names = [request.match_info["name"]]
    else:
        names = request.query.getall("names", [])
        if not names:
            raise InvalidParameter('no image to save: give one or more "names" in the query')
    fd, path = tempfile.mkstemp(dir=b.images.tmp_root, prefix="save-")
    try:
        with os.fdopen(fd, "w+b") as archive:
            saved = await b.run(b.images.save, names, archive)
            for image_id in saved:
                b.events.publish(Event("image", "save", image_id, {"name": image_id}))
            # Sent chunked, without a length: clients then stream it (ours reads a body
            # with a Content-Length whole).
            response = web.StreamResponse(headers={"Content-Type": "application/x-tar"})
            archive.seek(0)
            await response.prepare(request)
            while chunk := await b.run(archive.read, 1 << 20):
                await response.write(chunk)
            await response.write_eof()
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    return response


ROUTES = [
    ("POST", "/images/create", create_image),
    ("POST", "/images/load", load_images),
    ("POST", "/images/prune", prune_images),
    ("POST", "/build/prune", prune_build_cache),
    ("GET", "/images/json", list_images),
    ("GET", "/images/get", save_images),
    ("GET", "/images/{name:.+}/json", inspect_image),
    ("GET", "/images/{name:.+}/history", image_history),
    ("GET", "/images/{name:.+}/get", save_images),
    ("POST", "/images/{name:.+}/tag", tag_image),
    ("DELETE", "/images/{name:.+}", remove_image),
]
