"""The image store: import, load, list, inspect, tag and remove images.

Metadata lives in the state store (kinds ``image``, ``image-tag``, ``image-layer``);
layer contents live under ``<root>/image/layers/<diff-id hex>/``, each an extracted
root filesystem used as an overlayfs lowerdir by containers, with the layer tar's layout
beside it in ``<root>/image/tar-split/<diff-id hex>.gz`` so that ``save`` can give the
exact tar back (:mod:`dockyard.images.tarsplit`).

Crash safety: a layer is extracted into ``<root>/image/tmp/`` and renamed into place
only once complete, then one transaction records the layers, the image and its tags.
A failure before the commit removes what this call placed; a crash in between can
leave only temp dirs or a layer dir without a row, which :meth:`ImageStore.reconcile`
removes at start-up. Commits and removals take a file lock so that two processes
never delete a layer the other is about to reference.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import gzip
import io
import json
import lzma
import os
import re
import shutil
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, cast

from dockyard.errors import Conflict, InvalidParameter, NotFound
from dockyard.images.archive import read_saved_images, spool_archive
from dockyard.images.changes import apply_changes
from dockyard.images.config import (
    ID_PREFIX,
    RunConfig,
    build_import_config,
    commit_config,
    format_time,
    image_id,
)
from dockyard.images.layers import LayerInfo, decompressed, extract_layer
from dockyard.images.reference import normalize_reference, parse_reference
from dockyard.images.save import ImageToSave, write_archive
from dockyard.images.shapes import ImageRecord, inspect_doc, list_item
from dockyard.images.tarsplit import LayerStream, TeeReader, write_layout
from dockyard.store.base import Store, Txn

IMAGE_KIND = "image"
TAG_KIND = "image-tag"
LAYER_KIND = "image-layer"

# Returns the id of a container using the image, or None when no container does.
InUse = Callable[[str], str | None]

# Inside a scratch dir: the extracted layer and its tar layout, each renamed into place.
_ROOTFS = "rootfs"
_LAYOUT = "layout"

_HEX_RE = re.compile(r"^(?:sha256:)?([a-f0-9]{1,64})$")
_FULL_ID_RE = re.compile(r"^sha256:[a-f0-9]{64}$")


@dataclass(frozen=True)
class _NewImage:
    id: str
    config: bytes
    diff_ids: tuple[str, ...]
    tags: tuple[str, ...]
    parent: str = ""  # the image it was made from, by a commit or a build step
    build_key: str = ""  # what made it from its parent, for the build cache


def _hex(digest: str) -> str:
    return digest.removeprefix(ID_PREFIX)


def _now() -> datetime:
    return datetime.now(UTC)


class ImageStore:
    def __init__(self, root: str, store: Store) -> None:
        self.root = os.path.join(root, "image")
        self.store = store
        self.layers_root = os.path.join(self.root, "layers")
        self.tmp_root = os.path.join(self.root, "tmp")
        self.layouts_root = os.path.join(self.root, "tar-split")
        os.makedirs(self.layers_root, mode=0o700, exist_ok=True)
        os.makedirs(self.layouts_root, mode=0o700, exist_ok=True)
        os.makedirs(self.tmp_root, mode=0o700, exist_ok=True)
        self._lock_path = os.path.join(self.root, "lock")

    # -- paths and locking -------------------------------------------------------------

    def layer_path(self, diff_id: str) -> str:
        return os.path.join(self.layers_root, _hex(diff_id))

    def layout_path(self, diff_id: str) -> str:
        """The layer's tar layout (:mod:`dockyard.images.tarsplit`), for ``save``."""
        return os.path.join(self.layouts_root, _hex(diff_id) + ".gz")

    def _has_layer(self, diff_id: str) -> bool:
        return os.path.isdir(self.layer_path(diff_id)) and os.path.isfile(
            self.layout_path(diff_id))

    def layer_sizes(self) -> dict[str, int]:
        """Bytes of each stored layer, by diff id (as recorded when it was extracted)."""
        return {doc["diff_id"]: int(doc["size"]) for doc in self.store.list(LAYER_KIND)}

    @contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _scratch(self) -> str:
        return tempfile.mkdtemp(dir=self.tmp_root)

    def _extract(self, stream: IO[bytes], scratch: str) -> LayerInfo:
        """Extract a layer into ``scratch``/rootfs and keep its tar layout beside it.

        The uncompressed stream is teed to a spool file while it is extracted, so it is
        read once; the spool only lives until the layout is written from it."""
        rootfs = os.path.join(scratch, _ROOTFS)
        os.mkdir(rootfs, 0o700)  # the mode a layer root had when scratch itself was it
        spool_path = os.path.join(scratch, "layer.tar")
        with open(spool_path, "w+b") as spool:
            with _compression_errors_as_bad_input():
                tee = io.BufferedReader(cast(Any, TeeReader(decompressed(stream), spool)))
                # extract_layer sniffs the first bytes before its own error handling
                # starts: decompress them here, so a corrupt stream fails as bad input.
                tee.peek(6)
            layer = extract_layer(tee, rootfs)
            write_layout(spool, rootfs, os.path.join(scratch, _LAYOUT))
        os.unlink(spool_path)
        return layer

    # -- reading -----------------------------------------------------------------------

    def _record(self, doc: dict[str, Any], tags: Sequence[str]) -> ImageRecord:
        return ImageRecord(
            id=doc["id"],
            config_json=doc["config"],
            diff_ids=tuple(doc["diff_ids"]),
            size=int(doc["size"]),
            repo_tags=tuple(sorted(tags)),
            last_tag_time=doc.get("last_tag_time"),
            parent=doc.get("parent") or "",
        )

    def _tags_by_image(self, reader: Store | Txn) -> dict[str, builtins.list[str]]:
        tags: dict[str, builtins.list[str]] = {}
        for doc in reader.list(TAG_KIND):
            tags.setdefault(doc["image_id"], []).append(doc["ref"])
        return tags

    def images(self) -> builtins.list[ImageRecord]:
        """Every image, newest first (as ``docker images`` orders them)."""
        tags = self._tags_by_image(self.store)
        records = [self._record(doc, tags.get(doc["id"], []))
                   for doc in self.store.list(IMAGE_KIND)]
        return sorted(records, key=lambda r: (r.created, r.id), reverse=True)

    def resolve(self, ref_or_id: str) -> str:
        """The image id named by a full id, an id prefix (with or without ``sha256:``), or a
        reference; raises NotFound as Docker does (``No such image: x``)."""
        return self._resolve(self.store, ref_or_id)[0]

    def _resolve(self, reader: Store | Txn, ref_or_id: str) -> tuple[str, str | None]:
        """(image id, the normalised tag when ``ref_or_id`` named one)."""
        if _FULL_ID_RE.match(ref_or_id):
            if reader.get(IMAGE_KIND, _hex(ref_or_id)) is None:
                raise NotFound(f"No such image: {ref_or_id}")
            return ref_or_id, None
        parse_error: InvalidParameter | None = None
        try:
            ref = parse_reference(ref_or_id)
        except InvalidParameter as err:
            parse_error = err
        else:
            if ref.digest is None:
                tag = reader.get(TAG_KIND, str(ref))
                if tag is not None:
                    return str(tag["image_id"]), str(ref)
        match = _HEX_RE.match(ref_or_id)
        if match:
            prefix = match.group(1)
            hits = [doc["id"] for doc in reader.list(IMAGE_KIND)
                    if _hex(doc["id"]).startswith(prefix)]
            if len(hits) == 1:
                return str(hits[0]), None
        if parse_error is not None and not match:
            raise parse_error
        raise NotFound(f"No such image: {ref_or_id}")

    def get(self, ref_or_id: str) -> ImageRecord:
        image = self.resolve(ref_or_id)
        doc = self.store.get(IMAGE_KIND, _hex(image))
        if doc is None:
            raise NotFound(f"No such image: {ref_or_id}")
        tags = [t["ref"] for t in self.store.list(TAG_KIND) if t["image_id"] == image]
        return self._record(doc, tags)

    def ancestors(self, record: ImageRecord) -> builtins.list[ImageRecord]:
        """The images ``record`` was made from that are still here, parent first."""
        chain: builtins.list[ImageRecord] = []
        parent = record.parent
        while parent and len(chain) < 1000:
            try:
                chain.append(self.get(parent))
            except NotFound:
                break
            parent = chain[-1].parent
        return chain

    def layer_dirs(self, ref_or_id: str) -> builtins.list[str]:
        """Extracted layer directories in overlayfs ``lowerdir`` order: topmost first."""
        record = self.get(ref_or_id)
        return [self.layer_path(diff_id) for diff_id in reversed(record.diff_ids)]

    def list(self, containers: Callable[[str], int] | None = None) -> builtins.list[dict[str, Any]]:
        """``GET /images/json`` items; ``containers`` counts the containers using an image."""
        return [list_item(r, containers(r.id) if containers else -1) for r in self.images()]

    def inspect(self, ref_or_id: str) -> dict[str, Any]:
        record = self.get(ref_or_id)
        dirs = [self.layer_path(diff_id) for diff_id in reversed(record.diff_ids)]
        return inspect_doc(record, dirs)

    # -- save --------------------------------------------------------------------------

    def save(self, names: Sequence[str], out: IO[bytes]) -> builtins.list[str]:
        """``docker save``: the images ``names`` name, as one archive written to ``out``.
        Returns the ids saved. Everything is resolved before the first byte is written,
        so a bad name fails the call with nothing written."""
        chosen = self._images_to_save(names)
        for image in chosen:
            for diff_id in image.diff_ids:
                if not os.path.isfile(self.layout_path(diff_id)):
                    raise Conflict(
                        f"image {image.tags[0] if image.tags else image.id} cannot be saved: "
                        f"layer {diff_id} was stored before Dockyard kept layer tar layouts; "
                        "import or load the image again to save it")
        write_archive(out, chosen, self._layer_stream)
        return [image.id for image in chosen]

    def _layer_stream(self, diff_id: str) -> LayerStream:
        return LayerStream(self.layout_path(diff_id), self.layer_path(diff_id))

    def _images_to_save(self, names: Sequence[str]) -> builtins.list[ImageToSave]:
        """Docker's rules: ``repo`` alone means every tag of that repository, ``repo:tag``
        that tag, an id (or a prefix of one) the image without a name."""
        tags: dict[str, builtins.list[str]] = {}  # image id → tags, in the order asked
        for name in names:
            for image, tag in self._save_refs(name):
                chosen = tags.setdefault(image, [])
                if tag is not None and tag not in chosen:
                    chosen.append(tag)
        images = []
        for image, chosen in tags.items():
            doc = self.store.get(IMAGE_KIND, _hex(image))
            if doc is None:
                raise NotFound(f"No such image: {image}")
            images.append(ImageToSave(image, doc["config"].encode(),
                                      tuple(doc["diff_ids"]), tuple(chosen)))
        return images

    def _save_refs(self, name: str) -> builtins.list[tuple[str, str | None]]:
        try:
            ref = parse_reference(name, default_tag="")
        except InvalidParameter:
            ref = None
        if ref is not None and ref.digest is None and not ref.tag:
            matching = sorted((doc["ref"], doc["image_id"]) for doc in self.store.list(TAG_KIND)
                              if doc["ref"].rpartition(":")[0] == ref.repository)
            if matching:
                return [(str(image), str(tag)) for tag, image in matching]
        return [self._resolve(self.store, name)]

    # -- import and load ---------------------------------------------------------------

    def import_tar(
        self,
        source: str | IO[bytes],
        ref: str | None = None,
        *,
        changes: Sequence[str] = (),
        message: str = "",
        created: datetime | None = None,
    ) -> str:
        """``docker import``: a rootfs tar (path, ``-`` for stdin, or a binary stream;
        plain, gzip, bzip2 or xz) becomes a one-layer image. Returns the image id."""
        tags = (normalize_reference(ref),) if ref else ()
        run_config = apply_changes(RunConfig(), changes)
        scratch = self._scratch()
        try:
            if isinstance(source, str):
                if source == "-":
                    layer = self._extract(sys.stdin.buffer, scratch)
                else:
                    try:
                        handle = open(source, "rb")  # noqa: SIM115 - closed just below
                    except FileNotFoundError:
                        raise NotFound(f'import source "{source}" not found') from None
                    with handle:
                        layer = self._extract(handle, scratch)
            else:
                layer = self._extract(source, scratch)
            config = build_import_config(
                run_config, [layer.diff_id], created or _now(),
                comment=message or "Imported from -")
            new = _NewImage(image_id(config), config, (layer.diff_id,), tags)
            self._commit({layer.diff_id: (layer, scratch)}, [new])
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return new.id

    def load(self, fileobj: IO[bytes]) -> builtins.list[str]:
        """``docker load``: every image of a ``docker save`` archive, reusing layers already
        present. Returns the loaded references, or the id of an image without one."""
        spool = self._scratch()
        scratches: builtins.list[str] = []
        try:
            spool_archive(fileobj, spool)
            extracted: dict[str, tuple[LayerInfo, str]] = {}
            images: builtins.list[_NewImage] = []
            for saved in read_saved_images(spool):
                with open(saved.config_path, "rb") as handle:
                    config = handle.read()
                diff_ids = _diff_ids(config)
                if len(diff_ids) != len(saved.layer_paths):
                    raise InvalidParameter(
                        f"invalid image archive: config lists {len(diff_ids)} layers, "
                        f"manifest {len(saved.layer_paths)}")
                for index, (diff_id, path) in enumerate(
                        zip(diff_ids, saved.layer_paths, strict=True)):
                    # A layer stored before layouts were kept is extracted again for its
                    # layout, so that the image can be saved from then on.
                    if diff_id in extracted or self._has_layer(diff_id):
                        continue
                    scratch = self._scratch()
                    scratches.append(scratch)
                    with open(path, "rb") as handle:
                        layer = self._extract(handle, scratch)
                    if layer.diff_id != diff_id:
                        raise InvalidParameter(
                            f'invalid diffID for layer {index}: expected "{diff_id}", '
                            f'got "{layer.diff_id}"')
                    extracted[diff_id] = (layer, scratch)
                tags = tuple(normalize_reference(tag) for tag in saved.repo_tags)
                images.append(_NewImage(image_id(config), config, tuple(diff_ids), tags))
            self._commit(extracted, images)
        finally:
            for path in [spool, *scratches]:
                shutil.rmtree(path, ignore_errors=True)
        loaded: builtins.list[str] = []
        for new in images:
            loaded.extend(new.tags or (new.id,))
        return loaded

    def commit(
        self,
        parent: str | None,
        layer: IO[bytes] | None,
        run_config: dict[str, Any],
        *,
        created_by: str = "",
        comment: str = "",
        author: str = "",
        container: str = "",
        tags: Sequence[str] = (),
        build_key: str = "",
    ) -> str:
        """A new image on top of ``parent`` (None: from scratch), as ``docker commit`` and
        each build step make one: ``layer`` (an uncompressed layer tar) added on top of the
        parent's layers, or, when None, only a new config (an ``empty_layer`` step).
        ``run_config`` is the new image's config in Go's shape. Returns the image id."""
        refs = tuple(normalize_reference(tag) for tag in tags)
        record = self.get(parent) if parent else None
        base = record.config if record else {}
        parent_id = record.id if record else ""
        diff_ids = list(record.diff_ids) if record else []
        scratch = self._scratch()
        try:
            layers: dict[str, tuple[LayerInfo, str]] = {}
            if layer is not None:
                info = self._extract(layer, scratch)
                layers[info.diff_id] = (info, scratch)
                diff_ids.append(info.diff_id)
            config = commit_config(base, run_config, diff_ids, _now(), empty_layer=layer is None,
                                   created_by=created_by, comment=comment, author=author,
                                   container=container)
            new = _NewImage(image_id(config), config, tuple(diff_ids), refs, parent_id,
                            build_key)
            self._commit(layers, [new])
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return new.id

    def child_with_key(self, parent: str, build_key: str) -> str | None:
        """An image made from ``parent`` by the step ``build_key`` (the build cache), the
        newest when several were."""
        hits = [doc for doc in self.store.list(IMAGE_KIND)
                if doc.get("parent") == parent and doc.get("build_key") == build_key]
        if not hits:
            return None
        return str(max(hits, key=lambda doc: json.loads(doc["config"]).get("created", ""))["id"])

    def _commit(
        self, layers: dict[str, tuple[LayerInfo, str]], images: Sequence[_NewImage]
    ) -> None:
        """Move extracted layers into place and record everything in one transaction."""
        with self._locked():
            placed: builtins.list[str] = []
            try:
                for diff_id, (_, scratch) in layers.items():
                    final = self.layer_path(diff_id)
                    if not os.path.isdir(final):
                        os.rename(os.path.join(scratch, _ROOTFS), final)
                        placed.append(final)
                    layout = self.layout_path(diff_id)
                    if not os.path.isfile(layout):
                        os.rename(os.path.join(scratch, _LAYOUT), layout)
                        placed.append(layout)
                stamp = format_time(_now())
                with self.store.transaction() as txn:
                    for diff_id, (info, _) in layers.items():
                        if txn.get(LAYER_KIND, _hex(diff_id)) is None:
                            txn.put(LAYER_KIND, _hex(diff_id),
                                    {"diff_id": diff_id, "size": info.size})
                    for new in images:
                        self._put_image(txn, new, stamp)
            except BaseException:
                for final in placed:
                    _discard(final)
                raise

    def _put_image(self, txn: Txn, new: _NewImage, stamp: str) -> None:
        size = 0
        for diff_id in new.diff_ids:
            layer = txn.get(LAYER_KIND, _hex(diff_id))
            if layer is None:
                raise NotFound(f"layer {diff_id} of image {new.id} is missing")
            size += int(layer["size"])
        existing = txn.get(IMAGE_KIND, _hex(new.id))
        doc = {
            "id": new.id,
            "config": new.config.decode(),
            "diff_ids": list(new.diff_ids),
            "size": size,
            "last_tag_time": (existing or {}).get("last_tag_time"),
            "parent": new.parent or (existing or {}).get("parent") or "",
            "build_key": new.build_key or (existing or {}).get("build_key") or "",
        }
        if new.tags:
            doc["last_tag_time"] = stamp
        txn.put(IMAGE_KIND, _hex(new.id), doc)
        for tag in new.tags:
            txn.put(TAG_KIND, tag, {"ref": tag, "image_id": new.id})

    # -- tag and remove ----------------------------------------------------------------

    def tag(self, source: str, target: str) -> str:
        """Point ``target`` at the image ``source`` names (moving it if it existed)."""
        ref = normalize_reference(target)
        with self.store.transaction() as txn:
            image, _ = self._resolve(txn, source)
            doc = txn.get(IMAGE_KIND, _hex(image))
            if doc is None:
                raise NotFound(f"No such image: {source}")
            doc["last_tag_time"] = format_time(_now())
            txn.put(IMAGE_KIND, _hex(image), doc)
            txn.put(TAG_KIND, ref, {"ref": ref, "image_id": image})
        return ref

    def remove(
        self, ref_or_id: str, *, force: bool = False, in_use: InUse | None = None,
        prune_parents: bool = False,
    ) -> builtins.list[dict[str, str]]:
        """``docker rmi``: untag, and delete the image once no tag is left (or by id).

        Returns Docker's ``[{"Untagged": ref}, {"Deleted": id}]`` list. An image a
        container uses is never deleted: without ``force`` the call is refused with
        Docker's conflict message, with ``force`` it is only untagged (it stays, as a
        dangling image, until the container goes). With ``prune_parents`` (dockerd's
        default, ``noprune`` unset) the untagged images it was made from go with it, up
        to one that is tagged, used, or the parent of another image too.
        """
        removed_dirs: builtins.list[str] = []
        with self._locked():
            with self.store.transaction() as txn:
                image, tag = self._resolve(txn, ref_or_id)
                short = _hex(image)[:12]
                tags = sorted(t["ref"] for t in txn.list(TAG_KIND) if t["image_id"] == image)
                user = in_use(image) if in_use is not None else None
                if tag is not None and len(tags) > 1:
                    txn.delete(TAG_KIND, tag)
                    return [{"Untagged": tag}]
                if tag is not None and user and not force:
                    raise Conflict(
                        f'conflict: unable to remove repository reference "{ref_or_id}" '
                        f"(must force) - container {user[:12]} is using its referenced "
                        f"image {short}")
                if tag is None and not force:
                    if len({t.rpartition(":")[0] for t in tags}) > 1:
                        raise Conflict(
                            f"conflict: unable to delete {short} (must be forced) - image is "
                            "referenced in multiple repositories")
                    if user:
                        raise Conflict(
                            f"conflict: unable to delete {short} (must be forced) - image is "
                            f"being used by container {user[:12]}")
                has_children = any(other.get("parent") == image
                                   for other in txn.list(IMAGE_KIND))
                if tag is None and has_children:
                    raise Conflict(f"conflict: unable to delete {short} (cannot be forced) - "
                                   "image has dependent child images")
                result: builtins.list[dict[str, str]] = []
                for ref in tags:
                    txn.delete(TAG_KIND, ref)
                    result.append({"Untagged": ref})
                if user or has_children:  # images built on it keep it, untagged
                    return result
                parent = str((txn.get(IMAGE_KIND, _hex(image)) or {}).get("parent") or "")
                removed_dirs = self._delete_image(txn, image, result)
                if prune_parents:
                    removed_dirs += self._delete_parents(txn, parent, result, in_use)
            for path in removed_dirs:
                _discard(path)
        return result

    def _delete_image(
        self, txn: Txn, image: str, result: builtins.list[dict[str, str]]
    ) -> builtins.list[str]:
        doc = txn.get(IMAGE_KIND, _hex(image))
        txn.delete(IMAGE_KIND, _hex(image))
        result.append({"Deleted": image})
        still_used = {d for other in txn.list(IMAGE_KIND) for d in other["diff_ids"]}
        dirs = []
        for diff_id in (doc or {}).get("diff_ids", []):
            if diff_id not in still_used and txn.get(LAYER_KIND, _hex(diff_id)) is not None:
                txn.delete(LAYER_KIND, _hex(diff_id))
                result.append({"Deleted": diff_id})
                dirs += [self.layer_path(diff_id), self.layout_path(diff_id)]
        return dirs

    def _delete_parents(self, txn: Txn, parent: str, result: builtins.list[dict[str, str]],
                        in_use: InUse | None) -> builtins.list[str]:
        """Delete ``parent`` and its own parents, while each is untagged, unused and
        nobody else's parent."""
        dirs: builtins.list[str] = []
        while parent:
            doc = txn.get(IMAGE_KIND, _hex(parent))
            if doc is None:
                break
            tagged = any(t["image_id"] == parent for t in txn.list(TAG_KIND))
            children = any(other.get("parent") == parent for other in txn.list(IMAGE_KIND))
            if tagged or children or (in_use is not None and in_use(parent)):
                break
            dirs += self._delete_image(txn, parent, result)
            parent = str(doc.get("parent") or "")
        return dirs

    def reconcile(self) -> builtins.list[str]:
        """Remove what a crash can leave: temp dirs and layer dirs no row records.

        Call at start-up, before any import runs. Returns the paths removed."""
        removed = []
        with self._locked():
            known = {doc["diff_id"].removeprefix(ID_PREFIX)
                     for doc in self.store.list(LAYER_KIND)}
            for name in sorted(os.listdir(self.tmp_root)):
                removed.append(os.path.join(self.tmp_root, name))
            for name in sorted(os.listdir(self.layers_root)):
                if name not in known:
                    removed.append(os.path.join(self.layers_root, name))
            for name in sorted(os.listdir(self.layouts_root)):
                if name.removesuffix(".gz") not in known:
                    removed.append(os.path.join(self.layouts_root, name))
            for path in removed:
                _discard(path)
        return removed


@contextmanager
def _compression_errors_as_bad_input() -> Iterator[None]:
    try:
        yield
    except (EOFError, OSError, lzma.LZMAError, zlib.error) as err:
        if isinstance(err, OSError) and not isinstance(err, gzip.BadGzipFile) and err.errno:
            raise  # a real I/O failure, not bad input
        raise InvalidParameter(f"invalid tar archive: {err}") from err


def _discard(path: str) -> None:
    """Remove a file or a directory tree; already gone is fine."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _diff_ids(config: bytes) -> builtins.list[str]:
    try:
        doc = json.loads(config)
    except ValueError as err:
        raise InvalidParameter(f"invalid image config: {err}") from err
    rootfs = doc.get("rootfs") if isinstance(doc, dict) else None
    if not isinstance(rootfs, dict) or rootfs.get("type") != "layers":
        raise InvalidParameter("invalid image JSON, no RootFS key")
    diff_ids = rootfs.get("diff_ids") or []
    if not all(isinstance(d, str) and _FULL_ID_RE.match(d) for d in diff_ids):
        raise InvalidParameter("invalid image config: bad rootfs.diff_ids")
    return list(diff_ids)
