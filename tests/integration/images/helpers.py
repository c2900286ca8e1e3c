"""Build tar archives shaped like rootfs tarballs and ``docker save`` output."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from dockyard.images import ImageStore
from dockyard.store import SqliteStore


@dataclass
class Entry:
    name: str
    kind: bytes = tarfile.REGTYPE
    data: bytes = b""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0
    pax: dict[str, str] = field(default_factory=dict)


def make_tar(entries: list[Entry]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.type = entry.kind
            info.mode = entry.mode
            info.uid, info.gid = entry.uid, entry.gid
            info.mtime = 1_700_000_000
            info.linkname = entry.linkname
            info.devmajor, info.devminor = entry.devmajor, entry.devminor
            info.pax_headers = dict(entry.pax)
            info.size = len(entry.data) if entry.kind == tarfile.REGTYPE else 0
            archive.addfile(info, io.BytesIO(entry.data) if info.size else None)
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def image_config(diff_ids: list[str], cmd: list[str]) -> bytes:
    doc = {
        "architecture": "amd64",
        "config": {"Cmd": cmd, "Env": ["PATH=/bin"], "ExposedPorts": {"8080/tcp": {}}},
        "created": "2024-02-03T04:05:06.789Z",
        "history": [{"created": "2024-02-03T04:05:06.789Z"} for _ in diff_ids],
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    return json.dumps(doc, indent=1).encode()  # any bytes: the id is their hash


def legacy_save(layers: list[bytes], config: bytes, tags: list[str]) -> bytes:
    """``docker save`` before Docker 25: <id>.json, <dir>/layer.tar, manifest.json."""
    config_name = sha(config).removeprefix("sha256:") + ".json"
    files = [Entry(config_name, data=config)]
    names = []
    for index, layer in enumerate(layers):
        folder = f"{index:064x}"
        files.append(Entry(folder, kind=tarfile.DIRTYPE, mode=0o755))
        files.append(Entry(f"{folder}/VERSION", data=b"1.0"))
        files.append(Entry(f"{folder}/layer.tar", data=layer))
        names.append(f"{folder}/layer.tar")
    manifest = [{"Config": config_name, "RepoTags": tags, "Layers": names}]
    files.append(Entry("manifest.json", data=json.dumps(manifest).encode()))
    return make_tar(files)


def oci_save(layers: list[bytes], config: bytes, name: str, *, docker_manifest: bool) -> bytes:
    """Docker 25+ (``docker_manifest``) or a pure OCI layout, blobs under blobs/sha256."""
    blobs: dict[str, bytes] = {}

    def put(data: bytes) -> dict[str, object]:
        blobs[sha(data)] = data
        return {"digest": sha(data), "size": len(data)}

    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **put(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **put(layer)}
                   for layer in layers],
    }
    manifest_blob = json.dumps(manifest).encode()
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "annotations": {"io.containerd.image.name": name,
                        "org.opencontainers.image.ref.name": name.rpartition(":")[2]},
        **put(manifest_blob)}]}
    files = [Entry("blobs", kind=tarfile.DIRTYPE, mode=0o755),
             Entry("blobs/sha256", kind=tarfile.DIRTYPE, mode=0o755)]
    files += [Entry("blobs/sha256/" + digest.removeprefix("sha256:"), data=data)
              for digest, data in sorted(blobs.items())]
    files.append(Entry("oci-layout", data=b'{"imageLayoutVersion": "1.0.0"}'))
    files.append(Entry("index.json", data=json.dumps(index).encode()))
    if docker_manifest:
        entry = [{"Config": "blobs/sha256/" + sha(config).removeprefix("sha256:"),
                  "RepoTags": [name],
                  "Layers": ["blobs/sha256/" + sha(layer).removeprefix("sha256:")
                             for layer in layers]}]
        files.append(Entry("manifest.json", data=json.dumps(entry).encode()))
    return make_tar(files)


@contextmanager
def image_store(root: str) -> Iterator[ImageStore]:
    """An image store on its own state store under ``root``, closed afterwards."""
    store = SqliteStore(root)
    try:
        yield ImageStore(root, store)
    finally:
        store.close()
