"""``ImageStore.save``: every layer comes back byte for byte, so ids survive a round trip."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.errors import Conflict, Internal, NotFound
from dockyard.images import ImageStore
from dockyard.images.busybox import busybox_rootfs_tar
from tests.integration.images.helpers import (
    Entry,
    image_config,
    image_store,
    legacy_save,
    make_tar,
    sha,
)

pytestmark = pytest.mark.root


@pytest.fixture
def images(tmp_path: Path) -> Iterator[ImageStore]:
    with image_store(str(tmp_path / "a")) as store:
        yield store


@pytest.fixture
def other(tmp_path: Path) -> Iterator[ImageStore]:
    with image_store(str(tmp_path / "b")) as store:
        yield store


def saved(images: ImageStore, *names: str) -> bytes:
    out = io.BytesIO()
    images.save(names, out)
    return out.getvalue()


def members(archive: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {m.name: (tar.extractfile(m).read() if m.isreg() else b"")  # type: ignore[union-attr]
                for m in tar.getmembers()}


# Tars whose layouts are not plain: a file written twice, one removed by a later whiteout
# of its directory, a long PAX name, a hard link, an empty file, a file behind a symlink.
TRICKY = [
    Entry("d", kind=tarfile.DIRTYPE, mode=0o755),
    Entry("d/twice", data=b"first version"),
    Entry("d/gone/x", data=b"will be whited out"),
    Entry("d/.wh.gone"),
    Entry("d/twice", data=b"second, longer version"),
    Entry("long/" + "n" * 150, data=b"pax path"),
    Entry("empty", data=b""),
    Entry("hard", kind=tarfile.LNKTYPE, linkname="d/twice"),
    Entry("real", kind=tarfile.DIRTYPE, mode=0o755),
    Entry("via", kind=tarfile.SYMTYPE, linkname="real", mode=0o777),
    Entry("via/inner", data=b"through the link"),
    Entry("dir-then-file/a", data=b"lost when its dir becomes a file"),
    Entry("dir-then-file", data=b"now a file"),
]


def test_round_trip_keeps_ids_layers_and_tags(images: ImageStore, other: ImageStore) -> None:
    layer, _ = busybox_rootfs_tar()
    first = images.import_tar(io.BytesIO(gzip.compress(layer)), "bb:1")  # compressed in
    tricky = make_tar(TRICKY)
    config = image_config([sha(layer), sha(tricky)], ["sh"])
    images.load(io.BytesIO(legacy_save([layer, tricky], config, ["app:v1", "app:v2"])))
    archive = saved(images, "bb:1", "app")  # a repository alone: all its tags
    files = members(archive)
    # Layers are stored uncompressed, by diff id, exactly as they were imported.
    assert files["blobs/sha256/" + sha(layer).removeprefix("sha256:")] == layer
    assert files["blobs/sha256/" + sha(tricky).removeprefix("sha256:")] == tricky
    manifest = json.loads(files["manifest.json"])
    assert [m["RepoTags"] for m in manifest] == [["bb:1"], ["app:v1", "app:v2"]]
    index = json.loads(files["index.json"])
    assert [m["annotations"]["io.containerd.image.name"] for m in index["manifests"]] == [
        "docker.io/library/bb:1", "docker.io/library/app:v1", "docker.io/library/app:v2"]
    assert json.loads(files["repositories"]) == {
        "bb": {"1": sha(layer).removeprefix("sha256:")},
        "app": {"v1": sha(tricky).removeprefix("sha256:"),
                "v2": sha(tricky).removeprefix("sha256:")}}
    assert files["oci-layout"] == b'{"imageLayoutVersion": "1.0.0"}'
    assert saved(images, "bb:1", "app") == archive  # deterministic

    assert sorted(other.load(io.BytesIO(archive))) == ["app:v1", "app:v2", "bb:1"]
    assert other.resolve("bb:1") == first
    assert other.resolve("app:v2") == images.resolve("app:v1") == sha(config)


def test_save_by_id_has_no_names(images: ImageStore, other: ImageStore) -> None:
    image = images.import_tar(io.BytesIO(make_tar([Entry("f", data=b"x")])), "one")
    files = members(saved(images, image.removeprefix("sha256:")[:12]))
    assert json.loads(files["manifest.json"])[0]["RepoTags"] is None
    assert "repositories" not in files
    assert "annotations" not in json.loads(files["index.json"])["manifests"][0]
    assert other.load(io.BytesIO(saved(images, image))) == [image]


def test_unknown_name_fails_before_writing(images: ImageStore) -> None:
    images.import_tar(io.BytesIO(make_tar([Entry("f", data=b"x")])), "one")
    out = io.BytesIO()
    with pytest.raises(NotFound, match="No such image: two"):
        images.save(["one", "two"], out)
    assert out.getvalue() == b""


def test_changed_layer_file_is_caught(images: ImageStore) -> None:
    image = images.import_tar(io.BytesIO(make_tar([Entry("f", data=b"abc")])), "one")
    diff_id = images.get(image).diff_ids[0]
    Path(images.layer_path(diff_id), "f").write_bytes(b"xyz")  # same size, new bytes
    with pytest.raises(Internal, match="cannot be saved"):
        images.save(["one"], io.BytesIO())


def test_layer_without_layout_asks_for_a_new_load(images: ImageStore) -> None:
    data = make_tar([Entry("f", data=b"abc")])
    images.import_tar(io.BytesIO(data), "one")
    os.unlink(images.layout_path(sha(data)))  # as a layer stored by an older Dockyard
    with pytest.raises(Conflict, match="import or load the image again"):
        images.save(["one"], io.BytesIO())
    images.import_tar(io.BytesIO(data), "one")  # the same layer again: layout restored
    assert os.path.isfile(images.layout_path(sha(data)))
    assert members(saved(images, "one"))["blobs/sha256/" + sha(data)[7:]] == data


def test_remove_and_reconcile_drop_layouts(images: ImageStore) -> None:
    data = make_tar([Entry("f", data=b"abc")])
    images.import_tar(io.BytesIO(data), "one")
    images.remove("one")
    assert os.listdir(images.layouts_root) == []
    stray = os.path.join(images.layouts_root, "f" * 64 + ".gz")
    Path(stray).write_bytes(b"")
    assert images.reconcile() == [stray]
