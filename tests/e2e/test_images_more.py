"""Image prune, history and save, as users meet them: our CLI, the docker CLI, docker-py."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import time

import pytest

from tests.e2e.daemon import DOCKYARD, Daemon, lines, ok
from tests.integration.images.helpers import Entry, legacy_save, make_tar, sha

pytestmark = pytest.mark.root

needs_docker = pytest.mark.skipif(shutil.which("docker") is None,
                                  reason="the docker CLI is not installed on this machine")


def image_id(d: Daemon, ref: str) -> str:
    return ok(d.cli("image", "inspect", "-f", "{{.Id}}", ref)).strip()


def import_tar(d: Daemon, tmp_path: object, name: str, data: bytes, ref: str) -> str:
    path = os.path.join(str(tmp_path), name)
    with open(path, "wb") as handle:
        handle.write(data)
    return ok(d.cli("import", path, ref)).strip()


def all_ids(d: Daemon) -> set[str]:
    return set(ok(d.cli("images", "-q", "--no-trunc")).split())


# ------------------------------------------------------------------------------ prune


def test_image_prune_removes_dangling_and_keeps_what_containers_use(
        busybox: Daemon, tmp_path: object) -> None:
    d = busybox
    # "app" imported twice: the first image loses its tag, and its own layer goes with it.
    first = import_tar(d, tmp_path, "a.tar", make_tar([Entry("f", data=b"x" * 1500)]), "app")
    import_tar(d, tmp_path, "b.tar", make_tar([Entry("g", data=b"y")]), "app")
    # "old" imported twice too, but a stopped container still uses the first one.
    used = import_tar(d, tmp_path, "c.tar", make_tar([Entry("h", data=b"z" * 10)]), "old")
    ok(d.cli("create", "--name", "holder", used, "true"))
    import_tar(d, tmp_path, "d.tar", make_tar([Entry("i", data=b"w")]), "old")

    refused = d.cli("image", "prune")  # no answer on stdin: nothing happens
    assert refused.returncode == 0
    assert refused.stdout.startswith("WARNING! This will remove all dangling images.\n"
                                     "Are you sure you want to continue? [y/N] ")
    assert first in all_ids(d)

    out = ok(d.cli("image", "prune", "-f"))
    assert out.splitlines() == [
        "Deleted Images:",
        f"deleted: {first}",
        f"deleted: {sha(make_tar([Entry('f', data=b'x' * 1500)]))}",  # its layer
        "",
        "Total reclaimed space: 1.5kB",
    ]
    ids = all_ids(d)
    assert first not in ids and used in ids  # the dangling image the container uses stays
    assert image_id(d, "app") in ids and image_id(d, "busybox") in ids
    assert ok(d.cli("image", "prune", "-f")) == "Total reclaimed space: 0B\n"


def test_image_prune_all_removes_unused_tagged_images(busybox: Daemon, tmp_path: object) -> None:
    d = busybox
    ok(d.cli("tag", "busybox", "bb:two"))
    spare = import_tar(d, tmp_path, "s.tar", make_tar([Entry("s", data=b"s")]), "spare:1")
    ok(d.cli("create", "--name", "user", "busybox", "true"))
    labelled = d.api("POST", "/images/prune",
                     query={"filters": json.dumps({"dangling": ["false"], "label": ["x=y"]})})
    assert labelled == (200, {"ImagesDeleted": None, "SpaceReclaimed": 0})

    out = ok(d.cli("image", "prune", "-a", "-f"))
    assert "untagged: spare:1\n" in out and f"deleted: {spare}\n" in out
    assert "busybox" not in out and "bb:two" not in out  # used by a stopped container
    assert [r.split()[0] for r in lines(ok(d.cli("images")))[1:]] == ["bb", "busybox"]

    status, body = d.api("POST", "/images/prune",
                         query={"filters": json.dumps({"dangling": ["maybe"]})})
    assert (status, body) == (400, {"message": "invalid filter 'dangling=maybe'"})
    status, body = d.api("POST", "/images/prune", query={"filters": '{"tag": ["x"]}'})
    assert (status, body) == (400, {"message": "invalid filter 'tag'"})


def test_prune_reports_events(daemon: Daemon, tmp_path: object) -> None:
    from dockyard.client.http import Client

    d = daemon
    gone = import_tar(d, tmp_path, "e.tar", make_tar([Entry("e", data=b"e" * 7)]), "ev")
    _, body = d.api("POST", "/images/prune", query={"filters": '{"dangling": ["false"]}'})
    assert isinstance(body, dict) and body["SpaceReclaimed"] == 7
    raw = Client(d.url).request("GET", "/events", query={
        "since": "0", "until": str(int(time.time()) + 1),
        "filters": '{"type": ["image"]}'}).body
    docs = [json.loads(line) for line in raw.splitlines() if line.strip()]
    actions = [(e["Action"], e["Actor"]["ID"]) for e in docs]
    assert ("untag", "ev:latest") in actions and ("delete", gone) in actions
    assert docs[-1]["Action"] == "prune"
    assert docs[-1]["Actor"]["Attributes"] == {"reclaimed": "7"}


@needs_docker
def test_docker_system_prune_completes(busybox: Daemon, tmp_path: object) -> None:
    d = busybox
    dangling = import_tar(d, tmp_path, "a.tar", make_tar([Entry("a", data=b"a")]), "x")
    import_tar(d, tmp_path, "b.tar", make_tar([Entry("b", data=b"b")]), "x")
    ok(d.cli("create", "--name", "keep", "busybox", "true"))
    ok(d.cli("rm", "keep"))
    ok(d.cli("create", "--name", "stays", "busybox", "true"))
    ok(d.cli("network", "create", "unused"))

    out = ok(d.docker("system", "prune", "-f"))
    assert "Deleted Networks:\nunused\n" in out
    assert f"Deleted Images:\ndeleted: {dangling}\n" in out
    assert out.splitlines()[-1].startswith("Total reclaimed space: ")
    assert dangling not in all_ids(d)

    out = ok(d.docker("system", "prune", "-af"))
    assert "untagged: x:latest\n" in out
    assert out.splitlines()[-1].startswith("Total reclaimed space: ")
    # The stopped container went first, so busybox was unused and went too.
    assert all_ids(d) == set()
    assert d.api("POST", "/build/prune") == (200, {"CachesDeleted": None, "SpaceReclaimed": 0})


# ---------------------------------------------------------------------------- history


def test_history_of_an_imported_image(busybox: Daemon) -> None:
    d = busybox
    rows = lines(ok(d.cli("history", "busybox")))
    assert rows[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    full = image_id(d, "busybox")
    assert len(rows) == 2 and rows[1].startswith(full.removeprefix("sha256:")[:12] + "   ")
    assert rows[1].endswith("MB    Imported from -")
    out = ok(d.cli("image", "history", "--no-trunc", "--format",
                   "{{.ID}}|{{.CreatedBy}}|{{.Comment}}", "busybox"))
    assert out == f"{full}||Imported from -\n"
    assert ok(d.cli("history", "-q", "busybox")) == full[7:19] + "\n"
    _, items = d.api("GET", "/images/busybox/history")
    assert isinstance(items, list) and items[0]["Tags"] == ["busybox:latest"]
    assert set(items[0]) == {"Id", "Created", "CreatedBy", "Tags", "Size", "Comment"}
    missing = d.cli("history", "nope")
    assert (missing.returncode, missing.stderr) == (1, "Error response from daemon: No such "
                                                       "image: nope\n")


def test_history_of_a_loaded_image_matches_layers(daemon: Daemon) -> None:
    base, top = make_tar([Entry("a", data=b"a" * 300)]), make_tar([Entry("b", data=b"b" * 20)])
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2024-02-03T04:05:06Z",
        "config": {"Cmd": ["sh"]},
        "history": [
            {"created": "2024-02-01T00:00:00Z", "created_by": "ADD rootfs.tar /"},
            {"created": "2024-02-02T00:00:00Z", "created_by": "ENV A=1", "empty_layer": True},
            {"created": "2024-02-03T04:05:06Z", "created_by": "RUN\tmake", "comment": "c"},
        ],
        "rootfs": {"type": "layers", "diff_ids": [sha(base), sha(top)]},
    }).encode()
    ok(daemon.cli("load", "-i", _write(daemon, legacy_save([base, top], config, ["built:1"]))))
    _, items = daemon.api("GET", "/images/built:1/history")
    assert items == [
        {"Comment": "c", "Created": 1706933106, "CreatedBy": "RUN\tmake", "Id": sha(config),
         "Size": 20, "Tags": ["built:1"]},
        {"Comment": "", "Created": 1706832000, "CreatedBy": "ENV A=1", "Id": "<missing>",
         "Size": 0, "Tags": None},
        {"Comment": "", "Created": 1706745600, "CreatedBy": "ADD rootfs.tar /",
         "Id": "<missing>", "Size": 300, "Tags": None},
    ]
    out = ok(daemon.cli("history", "--format", "{{.ID}} {{.CreatedBy}} {{.Size}}", "built:1"))
    assert out.splitlines() == [f"{sha(config)[7:19]} RUN make 20B",
                                "<missing> ENV A=1 0B", "<missing> ADD rootfs.tar / 300B"]


def _write(d: Daemon, data: bytes) -> str:
    path = os.path.join(os.path.dirname(d.socket), "archive.tar")
    with open(path, "wb") as handle:
        handle.write(data)
    return path


@needs_docker
def test_docker_history_matches_ours(busybox: Daemon) -> None:
    d = busybox
    for args in (["history", "-H=false", "busybox"],
                 ["history", "--format", "{{.ID}}\t{{.Size}}\t{{.Comment}}", "busybox"]):
        assert ok(d.docker(*args)) == ok(d.cli(*args)), args
    # The human tables show the image's age, seconds old and read a moment apart: it may
    # cross a second between the two (and widen its column), so it is compared as a form.
    for args in (["history", "busybox"], ["history", "--no-trunc", "busybox"]):
        assert _age_masked(ok(d.docker(*args))) == _age_masked(ok(d.cli(*args))), args


def _age_masked(table: str) -> list[list[str]]:
    rows = [re.split(r" {2,}", line.strip()) for line in table.splitlines()]
    for row in rows[1:]:
        assert re.fullmatch(r"(Less than a second|1 second|\d+ seconds) ago", row[1]), row
        row[1] = "<age> ago"
    return rows


# ------------------------------------------------------------------------------- save


def test_save_then_load_gives_the_same_image(busybox: Daemon, tmp_path: object) -> None:
    d = busybox
    before = image_id(d, "busybox")
    ok(d.cli("tag", "busybox", "copy:1"))
    archive = os.path.join(str(tmp_path), "bb.tar")
    assert ok(d.cli("save", "-o", archive, "busybox", "copy:1")) == ""
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert {"index.json", "manifest.json", "oci-layout", "repositories"} <= set(names)
    assert manifest[0]["RepoTags"] == ["busybox:latest", "copy:1"]
    assert manifest[0]["Config"] == "blobs/sha256/" + before.removeprefix("sha256:")

    ok(d.cli("rmi", "busybox", "copy:1"))
    assert all_ids(d) == set()
    out = ok(d.cli("load", "-i", archive))
    assert out == "Loaded image: busybox:latest\nLoaded image: copy:1\n"
    assert image_id(d, "busybox") == image_id(d, "copy:1") == before
    assert ok(d.cli("run", "--rm", "copy:1", "echo", "from the copy")) == "from the copy\n"

    missing = d.cli("save", "-o", os.path.join(str(tmp_path), "none.tar"), "busybox", "nope")
    assert (missing.returncode, missing.stderr) == (
        1, "Error response from daemon: No such image: nope\n")
    assert not os.path.exists(os.path.join(str(tmp_path), "none.tar"))


def test_save_to_stdout_and_by_id(busybox: Daemon) -> None:
    d = busybox
    full = image_id(d, "busybox")
    # Binary on stdout (d.cli decodes text): run the CLI directly.
    result = subprocess.run([DOCKYARD, "--host", d.url, "save", full[7:19]],
                            capture_output=True, timeout=60, check=True)
    data = result.stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert manifest[0]["RepoTags"] is None  # saved by id: no name travels


@needs_docker
def test_docker_save_and_load(busybox: Daemon, tmp_path: object) -> None:
    d = busybox
    before = image_id(d, "busybox")
    theirs, ours = (os.path.join(str(tmp_path), n) for n in ("theirs.tar", "ours.tar"))
    ok(d.docker("save", "-o", theirs, "busybox"))
    ok(d.cli("save", "-o", ours, "busybox"))
    with open(theirs, "rb") as a, open(ours, "rb") as b:
        assert a.read() == b.read()  # GET /images/get?names= and our CLI agree
    ok(d.docker("rmi", "busybox"))
    assert ok(d.docker("load", "-i", theirs)) == "Loaded image: busybox:latest\n"
    assert ok(d.docker("inspect", "-f", "{{.Id}}", "busybox")).strip() == before


# -------------------------------------------------------------------------- docker-py


def test_dockerpy_prune_history_save(busybox: Daemon, dockerpy: object,
                                     tmp_path: object) -> None:
    import docker

    client: docker.DockerClient = dockerpy  # type: ignore[assignment]
    image = client.images.get("busybox")
    history = image.history()
    assert [(h["Id"], h["Comment"], h["Tags"]) for h in history] == [
        (image.id, "Imported from -", ["busybox:latest"])]

    data = b"".join(image.save(named=True))
    client.images.remove("busybox")
    loaded = client.images.load(data)
    assert [i.id for i in loaded] == [image.id]
    assert client.images.get("busybox:latest").id == image.id

    dangling = import_tar(busybox, tmp_path, "p.tar", make_tar([Entry("p", data=b"p")]), "p")
    import_tar(busybox, tmp_path, "q.tar", make_tar([Entry("q", data=b"q")]), "p")
    report = client.images.prune()
    assert report["ImagesDeleted"][0] == {"Deleted": dangling}
    assert report["SpaceReclaimed"] == 1
    assert client.images.prune(filters={"dangling": False})["SpaceReclaimed"] > 1
    assert client.images.list() == []
