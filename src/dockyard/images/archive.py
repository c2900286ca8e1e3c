"""Reading a ``docker save`` archive: what images it holds and where their parts are.

Two layouts exist. Docker before 25 wrote ``manifest.json`` (``[{Config, RepoTags,
Layers}]``) with ``<id>.json`` configs and ``<id>/layer.tar`` layers; Docker 25+ writes
an OCI image layout (``index.json``, ``blobs/sha256/…``) *and* a ``manifest.json`` that
points into the blobs. ``manifest.json`` is read when present; a pure OCI layout
(``index.json`` only, as podman or skopeo write it) is read through its manifests.
The archive is first spooled to a directory, since ``manifest.json`` is usually last.
"""

from __future__ import annotations

import copy
import json
import os
import tarfile
from dataclasses import dataclass
from typing import IO, Any

from dockyard.errors import InvalidParameter
from dockyard.images.layers import TRUSTED_EXTRACTION

_OCI_MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json",
                       "application/vnd.docker.distribution.manifest.v2+json")
_OCI_INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json")
_NAME_ANNOTATIONS = ("io.containerd.image.name", "org.opencontainers.image.ref.name")


@dataclass(frozen=True)
class SavedImage:
    config_path: str  # absolute, inside the spool directory
    layer_paths: tuple[str, ...]  # bottom layer first
    repo_tags: tuple[str, ...]


def spool_archive(fileobj: IO[bytes], dest: str) -> None:
    """Unpack the outer archive (possibly compressed), refusing what tarfile's ``data``
    filter refuses. The checks are ours because Debian 12's Python (3.11.2) predates
    tarfile's extraction filters."""
    try:
        with tarfile.open(fileobj=fileobj, mode="r|*") as archive:
            for member in archive:
                archive.extract(_spoolable(member, dest), dest, numeric_owner=True,
                                **TRUSTED_EXTRACTION)
    except (tarfile.TarError, EOFError) as err:
        raise InvalidParameter(f"invalid image archive: {err}") from err


def _spoolable(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
    """``member`` if it lands inside ``dest`` (through the links already made there too),
    as a plain file, directory or link owned by root without special mode bits;
    otherwise InvalidParameter."""
    if (member.issym() or member.islnk()) and member.linkname.startswith("/"):
        raise InvalidParameter(
            f'invalid image archive: link "{member.name}" has an absolute target')
    root = os.path.realpath(dest)
    name = member.name.lstrip("/")
    path = os.path.join(root, name)
    if member.issym():
        target = os.path.join(os.path.dirname(path), member.linkname)
    elif member.islnk():
        target = os.path.join(root, member.linkname)
    elif member.isreg() or member.isdir():
        target = path
    else:
        raise InvalidParameter(
            f'invalid image archive: member "{member.name}" is not a file or directory')
    for where in (os.path.dirname(path), target):
        real = os.path.realpath(where)
        if real != root and not real.startswith(root + os.sep):
            raise InvalidParameter(
                f'invalid image archive: member "{member.name}" points out of the archive')
    safe = copy.copy(member)
    safe.name = name
    safe.mode &= 0o755
    safe.uid = safe.gid = 0
    return safe


def _inside(spool: str, relative: str, what: str) -> str:
    if not isinstance(relative, str) or not relative:
        raise InvalidParameter(f"invalid image archive: missing {what} path")
    root = os.path.realpath(spool)
    path = os.path.realpath(os.path.join(root, relative))
    if not path.startswith(root + os.sep) or not os.path.isfile(path):
        raise InvalidParameter(f'invalid image archive: {what} "{relative}" not found')
    return path


def _load_json(path: str, what: str) -> Any:
    try:
        with open(path, "rb") as handle:
            return json.load(handle)
    except ValueError as err:
        raise InvalidParameter(f"invalid image archive: {what} is not valid JSON: {err}") from err


def read_saved_images(spool: str) -> list[SavedImage]:
    manifest_path = os.path.join(spool, "manifest.json")
    if os.path.isfile(manifest_path):
        return _from_docker_manifest(spool, _load_json(manifest_path, "manifest.json"))
    index_path = os.path.join(spool, "index.json")
    if os.path.isfile(index_path):
        return _from_oci_index(spool, _load_json(index_path, "index.json"), ())
    raise InvalidParameter("invalid image archive: no manifest.json or index.json")


def _from_docker_manifest(spool: str, manifest: Any) -> list[SavedImage]:
    if not isinstance(manifest, list):
        raise InvalidParameter("invalid image archive: manifest.json is not a list")
    images = []
    for entry in manifest:
        if not isinstance(entry, dict) or not isinstance(entry.get("Layers", []), list):
            raise InvalidParameter("invalid image archive: bad manifest.json entry")
        images.append(SavedImage(
            config_path=_inside(spool, entry.get("Config", ""), "config"),
            layer_paths=tuple(_inside(spool, layer, "layer") for layer in entry.get("Layers", [])),
            repo_tags=tuple(entry.get("RepoTags") or ()),
        ))
    return images


def _blob(spool: str, descriptor: Any) -> str:
    digest = descriptor.get("digest", "") if isinstance(descriptor, dict) else ""
    algorithm, _, hexpart = str(digest).partition(":")
    return _inside(spool, os.path.join("blobs", algorithm, hexpart), f"blob {digest}")


def _from_oci_index(spool: str, index: Any, names: tuple[str, ...]) -> list[SavedImage]:
    images: list[SavedImage] = []
    for descriptor in (index.get("manifests") or []) if isinstance(index, dict) else []:
        annotations = descriptor.get("annotations") or {}
        found = tuple(annotations[key] for key in _NAME_ANNOTATIONS[:1] if key in annotations)
        ref_name = annotations.get(_NAME_ANNOTATIONS[1], "")
        # The OCI ref name is often only a tag; it names an image only when it has a repo.
        if not found and ("/" in ref_name or (ref_name and ":" in ref_name)):
            found = (ref_name,)
        media_type = descriptor.get("mediaType", "")
        document = _load_json(_blob(spool, descriptor), "manifest")
        if media_type in _OCI_INDEX_TYPES or "manifests" in document:
            images.extend(_from_oci_index(spool, document, found or names))
        elif media_type in _OCI_MANIFEST_TYPES or "layers" in document:
            images.append(SavedImage(
                config_path=_blob(spool, document.get("config")),
                layer_paths=tuple(_blob(spool, layer) for layer in document.get("layers", [])),
                repo_tags=found or names,
            ))
    return images
