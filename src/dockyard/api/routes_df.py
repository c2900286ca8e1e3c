"""``GET /system/df``: what images, containers and volumes hold on disk (``docker system
df``), in the shape API 1.50 has: ``LayersSize``, ``Images``, ``Containers``,
``Volumes``, ``BuildCache``.

Sizes are computed when asked: a container's writable layer and a volume's data are
walked (``runtime/disk.py``), as dockerd walks them for this call. The ``type`` query
(container, image, volume, build-cache) limits the work to what the client shows; the
parts not asked for are left out.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from aiohttp import web

from dockyard.api.app import backend, json_response
from dockyard.api.backend import Backend
from dockyard.errors import InvalidParameter
from dockyard.images.shapes import list_item
from dockyard.runtime.disk import tree_size

TYPES = ("container", "image", "volume", "build-cache")


def _asked(request: web.Request) -> set[str]:
    asked = set(request.query.getall("type", []))
    unknown = sorted(asked - set(TYPES))
    if unknown:
        raise InvalidParameter(f'invalid type "{unknown[0]}": choose from {", ".join(TYPES)}')
    return asked or set(TYPES)


def image_usage(b: Backend) -> tuple[int, list[dict[str, Any]]]:
    """(LayersSize, Images): each image with its containers counted and ``SharedSize``,
    the bytes of its layers that another image uses too."""
    records = b.images.images()  # one read: the sizes below are of these very images
    sizes = b.images.layer_sizes()
    users = Counter(layer for r in records for layer in set(r.diff_ids))
    m = b.containers
    per_image = Counter(c.image_id for c in m.containers()) if m is not None else Counter()
    items = []
    for record in records:
        shared = sum(sizes.get(layer, 0) for layer in set(record.diff_ids) if users[layer] > 1)
        items.append({**list_item(record, per_image[record.id]), "SharedSize": shared})
    return sum(sizes.get(layer, 0) for layer in users), items


def container_usage(b: Backend) -> list[dict[str, Any]]:
    from dockyard.api.routes_containers import _list

    return _list(b, True, {}, None, size=True) if b.containers is not None else []


def volume_usage(b: Backend) -> list[dict[str, Any]]:
    m = b.containers
    if m is None:
        return []
    refs = Counter(mount.name for c in m.containers() for mount in c.mounts
                   if mount.type == "volume")
    out = []
    for volume in m.volumes.list():
        doc = m.volumes.inspect(volume.name)
        size = tree_size(m.volumes.data_dir(volume.name))
        doc["UsageData"] = {"Size": size, "RefCount": refs[volume.name]}
        out.append(doc)
    return out


def _usage(b: Backend, asked: set[str]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if "image" in asked:
        doc["LayersSize"], doc["Images"] = image_usage(b)
    if "container" in asked:
        doc["Containers"] = container_usage(b)
    if "volume" in asked:
        doc["Volumes"] = volume_usage(b)
    if "build-cache" in asked:
        doc["BuildCache"] = []  # nothing builds images here
    return doc


async def disk_usage(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    return json_response(await b.run(_usage, b, _asked(request)))


ROUTES = [
    ("GET", "/system/df", disk_usage),
]
