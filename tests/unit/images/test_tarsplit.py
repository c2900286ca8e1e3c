"""Layer layouts and saved archives, without root: the layer trees are written by hand."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from dockyard.errors import Internal
from dockyard.images.archive import read_saved_images, spool_archive
from dockyard.images.save import ImageToSave, qualified_name, write_archive
from dockyard.images.tarsplit import LayerStream, write_layout


def tar_of(entries: list[tuple[str, bytes | None]]) -> bytes:
    """A PAX tar; ``None`` content makes a directory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1_700_000_000
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def layer(tmp_path: Path, data: bytes, files: dict[str, bytes]) -> tuple[str, str]:
    """(layout path, rootfs) for ``data``, with the rootfs holding ``files``."""
    rootfs = tmp_path / "rootfs"
    for name, content in files.items():
        (rootfs / name).parent.mkdir(parents=True, exist_ok=True)
        (rootfs / name).write_bytes(content)
    rootfs.mkdir(exist_ok=True)
    layout = str(tmp_path / "layout.gz")
    with io.BytesIO(data) as spool:
        assert write_layout(spool, str(rootfs), layout) == len(data)
    return layout, str(rootfs)


def replay(layout: str, rootfs: str) -> tuple[bytes, str]:
    with LayerStream(layout, rootfs) as stream:
        data = stream.read()
        return data, stream.diff_id()


def test_layout_replays_the_tar_byte_for_byte_and_stays_small(tmp_path: Path) -> None:
    big = os.urandom(200_000)
    data = tar_of([("d", None), ("d/big", big), ("d/" + "long" * 40, b"pax name"),
                   ("empty", b"")])
    layout, rootfs = layer(tmp_path, data, {"d/big": big, "d/" + "long" * 40: b"pax name",
                                            "empty": b""})
    assert replay(layout, rootfs) == (data, "sha256:" + hashlib.sha256(data).hexdigest())
    assert os.path.getsize(layout) < 2_000  # file contents are not copied


def test_content_the_layer_no_longer_holds_is_kept_inline(tmp_path: Path) -> None:
    # "f" is written twice: the layer holds only the second version.
    data = tar_of([("f", b"first"), ("f", b"second!")])
    layout, rootfs = layer(tmp_path, data, {"f": b"second!"})
    assert replay(layout, rootfs)[0] == data


def test_changed_file_changes_the_digest_and_a_short_one_is_an_error(tmp_path: Path) -> None:
    data = tar_of([("f", b"abc")])
    layout, rootfs = layer(tmp_path, data, {"f": b"abc"})
    Path(rootfs, "f").write_bytes(b"xyz")
    assert replay(layout, rootfs)[1] != "sha256:" + hashlib.sha256(data).hexdigest()
    Path(rootfs, "f").write_bytes(b"a")
    with pytest.raises(Internal, match='layer file "f" is shorter'):
        replay(layout, rootfs)


def test_not_a_layout_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gz"
    bogus.write_bytes(b"not gzip at all")
    with pytest.raises(Internal, match="unreadable"):
        LayerStream(str(bogus), str(tmp_path))


def test_qualified_names() -> None:
    assert qualified_name("busybox:latest") == "docker.io/library/busybox:latest"
    assert qualified_name("me/app:1") == "docker.io/me/app:1"
    assert qualified_name("localhost:5000/app:1") == "localhost:5000/app:1"
    assert qualified_name("ghcr.io/o/app:1") == "ghcr.io/o/app:1"


def test_archive_reads_back_with_its_names_and_blobs(tmp_path: Path) -> None:
    data = tar_of([("f", b"content")])
    layout, rootfs = layer(tmp_path, data, {"f": b"content"})
    diff_id = "sha256:" + hashlib.sha256(data).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "created": "2024-01-02T03:04:05Z",
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    image = ImageToSave("sha256:" + hashlib.sha256(config).hexdigest(), config, (diff_id,),
                        ("app:1", "me/app:2"))
    out = io.BytesIO()
    write_archive(out, [image], lambda d: LayerStream(layout, rootfs))
    spool = tmp_path / "spool"
    spool.mkdir()
    spool_archive(io.BytesIO(out.getvalue()), str(spool))
    (saved,) = read_saved_images(str(spool))
    assert saved.repo_tags == ("app:1", "me/app:2")
    assert Path(saved.config_path).read_bytes() == config
    assert [Path(p).read_bytes() for p in saved.layer_paths] == [data]
    index = json.loads((spool / "index.json").read_text())
    assert [m["annotations"] for m in index["manifests"]] == [
        {"io.containerd.image.name": "docker.io/library/app:1",
         "org.opencontainers.image.ref.name": "1"},
        {"io.containerd.image.name": "docker.io/me/app:2",
         "org.opencontainers.image.ref.name": "2"}]
    manifest = json.loads((spool / index["manifests"][0]["digest"].replace(
        "sha256:", "blobs/sha256/")).read_text())
    assert manifest["layers"] == [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                   "digest": diff_id, "size": len(data)}]
    assert json.loads((spool / "repositories").read_text()) == {
        "app": {"1": diff_id[7:]}, "me/app": {"2": diff_id[7:]}}
