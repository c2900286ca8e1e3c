"""Images imported and loaded for real: extracted layers with owners, modes, links."""

from __future__ import annotations

import gzip
import io
import json
import lzma
import os
import stat
import subprocess
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dockyard.errors import Conflict, InvalidParameter, NotFound
from dockyard.images import ImageStore, ensure_busybox_image
from dockyard.images.busybox import build_busybox_rootfs_tar
from dockyard.images.store import IMAGE_KIND, LAYER_KIND, TAG_KIND
from tests.integration.images.helpers import (
    Entry,
    image_config,
    image_store,
    legacy_save,
    make_tar,
    oci_save,
    sha,
)

pytestmark = pytest.mark.root

WHEN = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def images(tmp_path: Path) -> Iterator[ImageStore]:
    with image_store(str(tmp_path / "state")) as store:
        yield store


def rootfs() -> bytes:
    return make_tar([
        Entry("./", kind=tarfile.DIRTYPE, mode=0o755),
        Entry("bin", kind=tarfile.DIRTYPE, mode=0o755),
        Entry("bin/tool", data=b"#!/bin/sh\necho tool\n", mode=0o4755),
        Entry("bin/sh", kind=tarfile.SYMTYPE, linkname="/bin/busybox", mode=0o777),
        Entry("etc", kind=tarfile.DIRTYPE, mode=0o755),
        Entry("etc/secret", data=b"s3cret", mode=0o640, uid=1000, gid=2000),
        Entry("etc/secret-link", kind=tarfile.LNKTYPE, linkname="etc/secret"),
        Entry("home/user", kind=tarfile.DIRTYPE, mode=0o700, uid=1000, gid=1000),
        Entry("dev", kind=tarfile.DIRTYPE, mode=0o755),
        Entry("dev/null", kind=tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3),
        Entry("dev/fifo", kind=tarfile.FIFOTYPE, mode=0o600),
        Entry("tmp", kind=tarfile.DIRTYPE, mode=0o1777),
        Entry("ro", kind=tarfile.DIRTYPE, mode=0o555),
        Entry("ro/inside", data=b"x", mode=0o444),
        Entry("bin/ping", data=b"ping", mode=0o755,
              pax={"SCHILY.xattr.user.dockyard": "kept"}),
    ])


def snapshot(images: ImageStore) -> dict[str, Any]:
    """Everything an import could leave behind: rows and directories."""
    return {
        "rows": {kind: images.store.list(kind) for kind in (IMAGE_KIND, TAG_KIND, LAYER_KIND)},
        "layers": sorted(os.listdir(images.layers_root)),
        "tmp": sorted(os.listdir(images.tmp_root)),
    }


def test_import_plain_tar_keeps_owners_modes_links_and_devices(
    images: ImageStore, tmp_path: Path
) -> None:
    data = rootfs()
    (tmp_path / "rootfs.tar").write_bytes(data)
    image = images.import_tar(str(tmp_path / "rootfs.tar"), "base")
    [layer] = images.layer_dirs("base")
    assert layer == images.layer_path(sha(data))
    assert images.inspect(image)["RootFS"]["Layers"] == [sha(data)]
    root = Path(layer)

    tool = (root / "bin/tool").lstat()
    assert stat.S_IMODE(tool.st_mode) == 0o4755  # setuid survives
    assert os.readlink(root / "bin/sh") == "/bin/busybox"
    secret = (root / "etc/secret").lstat()
    assert (secret.st_uid, secret.st_gid, stat.S_IMODE(secret.st_mode)) == (1000, 2000, 0o640)
    assert (root / "etc/secret-link").lstat().st_ino == secret.st_ino
    home = (root / "home/user").lstat()
    assert (home.st_uid, stat.S_IMODE(home.st_mode)) == (1000, 0o700)
    null = (root / "dev/null").lstat()
    assert stat.S_ISCHR(null.st_mode) and os.major(null.st_rdev) == 1
    assert os.minor(null.st_rdev) == 3
    assert stat.S_ISFIFO((root / "dev/fifo").lstat().st_mode)
    assert stat.S_IMODE((root / "tmp").lstat().st_mode) == 0o1777
    assert stat.S_IMODE((root / "ro").lstat().st_mode) == 0o555
    assert (root / "ro/inside").read_bytes() == b"x"
    assert os.getxattr(root / "bin/ping", "user.dockyard") == b"kept"
    assert (root / "etc").lstat().st_mtime == 1_700_000_000


def test_compressed_and_streamed_imports_share_the_layer(
    images: ImageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = rootfs()
    first = images.import_tar(io.BytesIO(gzip.compress(data)), "gz", created=WHEN)
    inode = os.stat(images.layer_dirs(first)[0]).st_ino
    second = images.import_tar(io.BytesIO(lzma.compress(data)), "xz", created=WHEN)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    third = images.import_tar("-", "stdin", created=WHEN)
    # The diff-id is the hash of the uncompressed tar, so the config and id are equal too.
    assert first == second == third
    assert images.inspect("stdin")["RootFS"]["Layers"] == [sha(data)]
    assert os.stat(images.layer_dirs(third)[0]).st_ino == inode
    assert sorted(images.inspect(first)["RepoTags"]) == ["gz:latest", "stdin:latest",
                                                         "xz:latest"]


def test_changes_show_in_inspect(images: ImageStore) -> None:
    images.import_tar(io.BytesIO(rootfs()), "web:1", changes=[
        'CMD ["httpd", "-f"]', "ENTRYPOINT /bin/sh", "ENV A=1 B=2", "EXPOSE 80 53/udp",
        "WORKDIR /srv", "USER nobody", "LABEL tier=web",
    ], message="hello")
    doc = images.inspect("web:1")
    config = doc["Config"]
    assert config["ExposedPorts"] == {"53/udp": {}, "80/tcp": {}}
    assert config["Cmd"] == ["httpd", "-f"]
    assert config["Entrypoint"] == ["/bin/sh", "-c", "/bin/sh"]
    assert config["Env"] == ["A=1", "B=2"]
    assert config["WorkingDir"] == "/srv"
    assert config["User"] == "nobody"
    assert config["Labels"] == {"tier": "web"}
    assert doc["Comment"] == "hello"
    assert [item["Labels"] for item in images.list()] == [{"tier": "web"}]


def test_bad_change_or_reference_is_refused_before_any_work(images: ImageStore) -> None:
    before = snapshot(images)
    with pytest.raises(InvalidParameter, match="run is not a valid change command"):
        images.import_tar(io.BytesIO(rootfs()), "x", changes=["RUN true"])
    with pytest.raises(InvalidParameter, match="must be lowercase"):
        images.import_tar(io.BytesIO(rootfs()), "Upper")
    assert snapshot(images) == before


def test_tag_list_resolve_and_remove(images: ImageStore) -> None:
    image = images.import_tar(io.BytesIO(rootfs()), "one", created=WHEN)
    hexid = image.removeprefix("sha256:")
    assert images.tag(hexid[:5], "localhost:5000/two:v2") == "localhost:5000/two:v2"
    assert images.tag("one", "one:extra") == "one:extra"
    for name in (image, hexid, hexid[:12], "sha256:" + hexid[:7], "one", "one:latest",
                 "localhost:5000/two:v2"):
        assert images.resolve(name) == image
    [item] = images.list()
    assert item["RepoTags"] == ["localhost:5000/two:v2", "one:extra", "one:latest"]
    assert item["Size"] == images.inspect(image)["Size"] > 0
    assert images.inspect(image)["Metadata"]["LastTagTime"] != "0001-01-01T00:00:00Z"

    assert images.remove("one") == [{"Untagged": "one:latest"}]
    with pytest.raises(Conflict, match="referenced in multiple repositories"):
        images.remove(hexid[:12])
    layer = images.layer_dirs(image)[0]
    result = images.remove(hexid[:12], force=True)
    assert result == [{"Untagged": "localhost:5000/two:v2"}, {"Untagged": "one:extra"},
                      {"Deleted": image}, {"Deleted": "sha256:" + os.path.basename(layer)}]
    assert not os.path.exists(layer)
    assert images.list() == []
    assert snapshot(images)["rows"] == {IMAGE_KIND: [], TAG_KIND: [], LAYER_KIND: []}
    with pytest.raises(NotFound, match="No such image: one"):
        images.inspect("one")


def test_layer_is_kept_while_another_image_uses_it(images: ImageStore) -> None:
    first = images.import_tar(io.BytesIO(rootfs()), "a", created=WHEN)
    second = images.import_tar(io.BytesIO(rootfs()), "b", changes=["USER 1"], created=WHEN)
    assert first != second
    layer = images.layer_dirs("a")[0]
    assert images.layer_dirs("b") == [layer]
    assert images.remove("a") == [{"Untagged": "a:latest"}, {"Deleted": first}]
    assert os.path.isdir(layer)
    assert images.remove("b")[-1] == {"Deleted": "sha256:" + os.path.basename(layer)}
    assert not os.path.exists(layer)


def test_remove_of_an_image_a_container_uses_is_refused(images: ImageStore) -> None:
    image = images.import_tar(io.BytesIO(rootfs()), "used")
    container = "c" * 64

    def in_use(image_id: str) -> str | None:
        return container if image_id == image else None

    short = image.removeprefix("sha256:")[:12]
    with pytest.raises(Conflict) as info:
        images.remove("used", in_use=in_use)
    assert str(info.value) == (
        'conflict: unable to remove repository reference "used" (must force) - '
        f"container cccccccccccc is using its referenced image {short}")
    with pytest.raises(Conflict, match="being used by container cccccccccccc"):
        images.remove(image, in_use=in_use)
    # Forced: untagged, but the image and its layer stay for the container.
    assert images.remove("used", force=True, in_use=in_use) == [{"Untagged": "used:latest"}]
    assert images.resolve(image) == image
    assert os.path.isdir(images.layer_dirs(image)[0])


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("garbage", b"this is not a tar archive at all" * 40),
        ("truncated", rootfs()[:3000]),
        ("bad gzip", gzip.compress(rootfs())[:200]),
        ("escape", make_tar([Entry("ok", data=b"1"), Entry("../../escaped", data=b"x")])),
        ("through symlink", make_tar([
            Entry("out", kind=tarfile.SYMTYPE, linkname="/tmp"),
            Entry("out/dockyard-escaped-file", data=b"x")])),
        ("dangling hard link", make_tar([Entry("h", kind=tarfile.LNKTYPE, linkname="nope")])),
    ],
)
def test_corrupt_or_hostile_tar_is_refused_leaving_nothing(
    images: ImageStore, name: str, data: bytes
) -> None:
    images.import_tar(io.BytesIO(make_tar([Entry("keep", data=b"k")])), "keep")
    before = snapshot(images)
    with pytest.raises(InvalidParameter):
        images.import_tar(io.BytesIO(data), "broken")
    assert snapshot(images) == before
    assert not os.path.exists("/tmp/dockyard-escaped-file")
    assert not os.path.exists(os.path.join(images.root, "..", "escaped"))


def base_and_upper() -> tuple[bytes, bytes]:
    base = make_tar([
        Entry("a", data=b"from base"),
        Entry("d", kind=tarfile.DIRTYPE, mode=0o755),
        Entry("d/x", data=b"old"),
        Entry("keep", data=b"kept"),
    ])
    upper = make_tar([
        Entry(".wh.a"),
        Entry("d", kind=tarfile.DIRTYPE, mode=0o755),
        Entry("d/.wh..wh..opq"),
        Entry("d/y", data=b"new"),
    ])
    return base, upper


def test_load_legacy_docker_save_with_whiteouts(images: ImageStore, tmp_path: Path) -> None:
    base, upper = base_and_upper()
    config = image_config([sha(base), sha(upper)], ["/bin/sh"])
    loaded = images.load(io.BytesIO(legacy_save([base, upper], config, ["app:v1"])))
    assert loaded == ["app:v1"]
    doc = images.inspect("app:v1")
    assert doc["Id"] == sha(config)  # the id is the hash of the saved config bytes
    assert doc["RootFS"]["Layers"] == [sha(base), sha(upper)]
    assert doc["Config"]["Cmd"] == ["/bin/sh"]
    assert doc["Config"]["ExposedPorts"] == {"8080/tcp": {}}
    top, bottom = images.layer_dirs("app:v1")
    assert (top, bottom) == (images.layer_path(sha(upper)), images.layer_path(sha(base)))
    whiteout = os.lstat(os.path.join(top, "a"))
    assert stat.S_ISCHR(whiteout.st_mode) and whiteout.st_rdev == 0
    assert os.getxattr(os.path.join(top, "d"), "trusted.overlay.opaque") == b"y"

    # The layers stack as overlayfs lowerdirs: whiteouts hide, opaque dirs replace.
    merged = tmp_path / "merged"
    merged.mkdir()
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={top}:{bottom}", str(merged)], check=True, timeout=30)
    try:
        assert sorted(os.listdir(merged)) == ["d", "keep"]
        assert sorted(os.listdir(merged / "d")) == ["y"]
    finally:
        subprocess.run(["umount", str(merged)], check=True, timeout=30)


def test_loading_again_reuses_layers(images: ImageStore) -> None:
    base, upper = base_and_upper()
    config = image_config([sha(base), sha(upper)], ["/bin/sh"])
    images.load(io.BytesIO(legacy_save([base, upper], config, ["app:v1"])))
    inodes = [os.stat(path).st_ino for path in images.layer_dirs("app:v1")]
    other = image_config([sha(base)], ["/bin/true"])
    assert images.load(io.BytesIO(legacy_save([base], other, []))) == [sha(other)]
    assert images.load(io.BytesIO(legacy_save([base, upper], config, ["app:v2"]))) == ["app:v2"]
    assert [os.stat(path).st_ino for path in images.layer_dirs("app:v2")] == inodes
    assert images.resolve("app:v1") == images.resolve("app:v2") == sha(config)
    assert len(images.list()) == 2


@pytest.mark.parametrize("docker_manifest", [True, False])
def test_load_oci_layout_with_gzip_layers(images: ImageStore, docker_manifest: bool) -> None:
    base, upper = base_and_upper()
    config = image_config([sha(base), sha(upper)], ["/bin/sh"])
    archive = oci_save([gzip.compress(base), gzip.compress(upper)], config,
                       "docker.io/library/app:oci", docker_manifest=docker_manifest)
    assert images.load(io.BytesIO(archive)) == ["app:oci"]
    assert images.inspect("app:oci")["RootFS"]["Layers"] == [sha(base), sha(upper)]
    top, bottom = images.layer_dirs("app:oci")
    assert Path(bottom, "keep").read_bytes() == b"kept"
    assert Path(top, "d/y").read_bytes() == b"new"


def test_load_with_wrong_diff_id_leaves_nothing(images: ImageStore) -> None:
    base, upper = base_and_upper()
    config = image_config([sha(base), "sha256:" + "f" * 64], ["/bin/sh"])
    before = snapshot(images)
    with pytest.raises(InvalidParameter, match="invalid diffID for layer 1: expected"):
        images.load(io.BytesIO(legacy_save([base, upper], config, ["bad:1"])))
    assert snapshot(images) == before
    with pytest.raises(InvalidParameter, match=r"manifest\.json"):
        images.load(io.BytesIO(make_tar([Entry("manifest.json", data=b"{nope")])))
    assert snapshot(images) == before


@pytest.mark.parametrize(
    ("name", "entries", "message"),
    [
        ("escape", [Entry("../../dockyard-escaped-file", data=b"x")], "points out"),
        ("absolute link", [Entry("out", kind=tarfile.SYMTYPE, linkname="/tmp")],
         "absolute target"),
        ("relative link out", [Entry("out", kind=tarfile.SYMTYPE, linkname="../../../tmp")],
         "points out"),
        # Each link alone stays inside; through the first, the second climbs out.
        ("link chain", [Entry("a", kind=tarfile.SYMTYPE, linkname="."),
                        Entry("a/a/a/s", kind=tarfile.SYMTYPE, linkname="../../..")],
         "points out"),
        ("device", [Entry("dev", kind=tarfile.CHRTYPE, devmajor=1, devminor=3)],
         "not a file or directory"),
    ],
)
def test_hostile_saved_archive_is_refused_leaving_nothing(
    images: ImageStore, name: str, entries: list[Entry], message: str
) -> None:
    before = snapshot(images)
    with pytest.raises(InvalidParameter, match=message):
        images.load(io.BytesIO(make_tar([*entries, Entry("manifest.json", data=b"[]")])))
    assert snapshot(images) == before
    assert not os.path.exists("/tmp/dockyard-escaped-file")


def test_busybox_image_runs_a_shell(images: ImageStore, tmp_path: Path) -> None:
    image = ensure_busybox_image(images)
    assert ensure_busybox_image(images) == image
    [layer] = images.layer_dirs("busybox")
    assert os.path.isfile(os.path.join(layer, "bin/busybox"))
    assert os.readlink(os.path.join(layer, "bin/sh")) == "busybox"
    assert stat.S_IMODE(os.stat(os.path.join(layer, "tmp")).st_mode) == 0o1777
    assert "root:x:0:0" in Path(layer, "etc/passwd").read_text()
    assert images.inspect("busybox")["Config"]["Cmd"] == ["sh"]
    out = subprocess.run(["chroot", layer, "/bin/sh", "-c", "echo $((6*7)); ls /bin | wc -l"],
                         check=True, capture_output=True, text=True, timeout=30).stdout.split()
    assert out[0] == "42" and int(out[1]) > 100
    # The tar is deterministic: written twice, it has one diff-id, the image's.
    first = build_busybox_rootfs_tar(str(tmp_path / "a.tar"))
    assert build_busybox_rootfs_tar(str(tmp_path / "b.tar")) == first
    assert images.inspect(image)["RootFS"]["Layers"] == [first]


def test_reconcile_removes_crash_leftovers(images: ImageStore) -> None:
    images.import_tar(io.BytesIO(rootfs()), "kept")
    kept = images.layer_dirs("kept")[0]
    orphan = images.layer_path("sha256:" + "e" * 64)
    os.makedirs(os.path.join(orphan, "etc"))
    leftover = os.path.join(images.tmp_root, "half")
    os.makedirs(leftover)
    assert sorted(images.reconcile()) == sorted([orphan, leftover])
    assert os.path.isdir(kept) and not os.path.exists(orphan)
    assert images.layer_dirs("kept") == [kept]


def test_commits_record_parents_feed_the_cache_and_go_with_their_child(
        images: ImageStore) -> None:
    base = images.import_tar(io.BytesIO(rootfs()), "base", created=WHEN)
    layer = make_tar([Entry("app/", tarfile.DIRTYPE, mode=0o755), Entry("app/run", data=b"x")])
    step = images.commit(base, io.BytesIO(layer), {"Cmd": ["run"]}, created_by="COPY run",
                         build_key="copy-run")
    top = images.commit(step, None, {"Cmd": ["run", "--fast"]}, created_by="CMD",
                        tags=["app"], build_key="cmd")
    assert images.child_with_key(base, "copy-run") == step
    assert images.child_with_key(base, "cmd") is None
    inspected = images.inspect("app")
    assert inspected["Parent"] == step
    assert inspected["Config"]["Cmd"] == ["run", "--fast"]
    assert len(inspected["RootFS"]["Layers"]) == 2  # the config step added none
    history = json.loads(images.get("app").config_json)["history"]
    assert [h.get("created_by") for h in history] == [None, "COPY run", "CMD"]
    assert history[-1]["empty_layer"] is True
    assert [r.id for r in images.ancestors(images.get("app"))] == [step, base]

    # a tagged parent is only untagged; an untagged one with children is refused
    assert images.remove("base") == [{"Untagged": "base:latest"}]
    with pytest.raises(Conflict, match="image has dependent child images"):
        images.remove(step)
    # the child goes with every untagged image it was made from
    result = images.remove("app", prune_parents=True)
    assert [e["Deleted"] for e in result if e.get("Deleted") in (top, step, base)] == [
        top, step, base]
    assert snapshot(images)["rows"] == {IMAGE_KIND: [], TAG_KIND: [], LAYER_KIND: []}
