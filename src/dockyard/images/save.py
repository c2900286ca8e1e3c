"""Writing a ``docker save`` archive, in the layout Docker 25+ writes.

The archive is an OCI image layout (``oci-layout``, ``index.json``, ``blobs/sha256/``)
that also carries Docker's own ``manifest.json`` and the legacy ``repositories`` file,
so that every ``docker load`` (ours, Docker's old and new, podman's, skopeo's) reads it:

    blobs/sha256/<config digest>     the image config, byte for byte (the image id)
    blobs/sha256/<diff id>           each layer, an uncompressed tar
    blobs/sha256/<manifest digest>   an OCI manifest per image
    index.json                       one descriptor per tag, named by annotations
    manifest.json                    [{Config, RepoTags, Layers}] pointing into blobs/
    oci-layout, repositories

Members are written in path order with fixed times (the image's creation time for its
blobs, the epoch for the rest), so saving the same images twice gives the same bytes.
Unlike Docker we write no per-layer legacy v1 configs: only pre-1.10 engines read them.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from dockyard.errors import Internal
from dockyard.images.config import digest_of, go_json, parse_time
from dockyard.images.tarsplit import LayerStream

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"
IMAGE_NAME_ANNOTATION = "io.containerd.image.name"
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"
OCI_LAYOUT = b'{"imageLayoutVersion": "1.0.0"}'

# diff id → the layer's tar as a stream that knows its size and checks its digest
LayerOpener = Callable[[str], LayerStream]


@dataclass(frozen=True)
class ImageToSave:
    id: str  # "sha256:<hex>", the digest of ``config``
    config: bytes
    diff_ids: tuple[str, ...]  # bottom layer first
    tags: tuple[str, ...]  # familiar "repo:tag", in the order asked for


def qualified_name(tag: str) -> str:
    """``busybox:latest`` → ``docker.io/library/busybox:latest``, as Docker names images
    in ``index.json`` annotations."""
    repository = tag.rpartition(":")[0]
    first, sep, _ = repository.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return tag
    return f"docker.io/{tag}" if sep else f"docker.io/library/{tag}"


def _blob_path(digest: str) -> str:
    algorithm, _, encoded = digest.partition(":")
    return f"blobs/{algorithm}/{encoded}"


def _platform(config: dict[str, Any]) -> dict[str, str]:
    """An OCI platform in Go's field order (architecture, os, os.version, variant)."""
    platform = {"architecture": str(config.get("architecture") or ""),
                "os": str(config.get("os") or "")}
    for key in ("os.version", "variant"):
        if config.get(key):
            platform[key] = str(config[key])
    return platform


def _manifest(image: ImageToSave, layer_sizes: dict[str, int]) -> bytes:
    config = json.loads(image.config)
    return go_json({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": image.id, "size": len(image.config),
                   "platform": _platform(config)},
        "layers": [{"mediaType": LAYER_TYPE, "digest": diff_id, "size": layer_sizes[diff_id]}
                   for diff_id in image.diff_ids],
    })


def _index_entries(image: ImageToSave, manifest: bytes) -> list[dict[str, Any]]:
    """One descriptor per tag, as Docker writes them; an untagged image gets one without
    a name, so that readers of the OCI layout alone still find it."""
    descriptor: dict[str, Any] = {"mediaType": MANIFEST_TYPE, "digest": digest_of(manifest),
                                  "size": len(manifest)}
    platform = _platform(json.loads(image.config))
    if not image.tags:
        return [{**descriptor, "platform": platform}]
    return [{**descriptor,
             "annotations": {IMAGE_NAME_ANNOTATION: qualified_name(tag),
                             REF_NAME_ANNOTATION: tag.rpartition(":")[2]},
             "platform": platform}
            for tag in image.tags]


def _repositories(images: Sequence[ImageToSave]) -> dict[str, dict[str, str]]:
    """The legacy ``repositories`` file: repository → tag → top layer (diff id hex)."""
    repositories: dict[str, dict[str, str]] = {}
    for image in images:
        for tag in image.tags:
            repository, _, name = tag.rpartition(":")
            top = image.diff_ids[-1].partition(":")[2] if image.diff_ids else ""
            repositories.setdefault(repository, {})[name] = top
    return repositories


def _created(image: ImageToSave) -> int:
    created = json.loads(image.config).get("created")
    return int(parse_time(created).timestamp()) if isinstance(created, str) else 0


def _info(name: str, size: int, mtime: int, directory: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode = 0o755 if directory else 0o644
    info.size = 0 if directory else size
    info.mtime = max(mtime, 0)
    return info


def write_archive(out: IO[bytes], images: Sequence[ImageToSave], open_layer: LayerOpener
                  ) -> None:
    """Write ``images`` as one ``docker save`` archive to ``out``.

    Each layer is rebuilt from its layout and checked against its diff id as it is
    written; a mismatch raises Internal, and the caller discards what was written."""
    layer_mtime: dict[str, int] = {}
    for image in images:
        for diff_id in image.diff_ids:
            layer_mtime.setdefault(diff_id, _created(image))
    layer_sizes: dict[str, int] = {}
    for diff_id in layer_mtime:
        with open_layer(diff_id) as stream:
            layer_sizes[diff_id] = stream.size
    blobs: dict[str, tuple[bytes | None, int]] = {}  # path → (bytes, or None for a layer)
    manifest_items: list[dict[str, Any]] = []
    index: list[dict[str, Any]] = []
    for image in images:
        manifest = _manifest(image, layer_sizes)
        blobs[_blob_path(image.id)] = (image.config, _created(image))
        blobs[_blob_path(digest_of(manifest))] = (manifest, 0)
        index += _index_entries(image, manifest)
        manifest_items.append({"Config": _blob_path(image.id),
                               "RepoTags": list(image.tags) or None,
                               "Layers": [_blob_path(d) for d in image.diff_ids]})
    for diff_id, mtime in layer_mtime.items():
        blobs[_blob_path(diff_id)] = (None, mtime)
    files: dict[str, bytes] = {
        "index.json": go_json({"schemaVersion": 2, "mediaType": INDEX_TYPE,
                               "manifests": index}),
        "manifest.json": go_json(manifest_items) + b"\n",
        "oci-layout": OCI_LAYOUT,
    }
    repositories = _repositories(images)
    if repositories:
        files["repositories"] = go_json(repositories) + b"\n"
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as archive:
        archive.addfile(_info("blobs", 0, 0, directory=True))
        archive.addfile(_info("blobs/sha256", 0, 0, directory=True))
        for path in sorted(blobs):
            data, mtime = blobs[path]
            if data is None:
                _add_layer(archive, path, mtime, open_layer)
            else:
                archive.addfile(_info(path, len(data), mtime), io.BytesIO(data))
        for name in sorted(files):
            archive.addfile(_info(name, len(files[name]), 0), io.BytesIO(files[name]))


def _add_layer(archive: tarfile.TarFile, path: str, mtime: int, open_layer: LayerOpener
               ) -> None:
    diff_id = "sha256:" + path.rpartition("/")[2]
    with open_layer(diff_id) as stream:
        archive.addfile(_info(path, stream.size, mtime), stream)
        if stream.read(1):
            raise Internal(f"layer {diff_id} is longer than its recorded size")
        if stream.diff_id() != diff_id:
            raise Internal(
                f"layer {diff_id} cannot be saved: its stored files give {stream.diff_id()} "
                "(changed on disk since it was extracted?)")
