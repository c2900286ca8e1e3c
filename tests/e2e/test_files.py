"""``docker cp``, ``docker export`` and ``docker diff`` against Dockyard: our CLI, the real
docker CLI and docker-py, each through the Engine API on the daemon's socket."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from dockyard.images.busybox import BUSYBOX
from tests.e2e.daemon import DOCKYARD, Daemon, ok
from tests.e2e.test_containers import eventually

pytestmark = pytest.mark.root
needs_docker = pytest.mark.skipif(shutil.which("docker") is None,
                                  reason="the docker CLI is not installed")

# A container's own files: a tree with a relative link in it, a small file.
SETUP = ("mkdir -p /d/sub && printf 'one\\n' > /d/sub/f && printf top > /d/t && "
         "ln -s sub/f /d/link && echo hello > /hi")


def _raw(d: Daemon, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Our CLI with bytes in and out (archives)."""
    return subprocess.run([DOCKYARD, "--host", d.url, *args], input=stdin,
                          capture_output=True, timeout=60)


def _docker_raw(d: Daemon, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, DOCKER_CONFIG=os.path.join(os.path.dirname(d.socket),
                                                      "docker-config"))
    env.pop("DOCKER_HOST", None)
    return subprocess.run(["docker", "-H", d.url, *args], capture_output=True, timeout=60,
                          env=env)


def _start(d: Daemon, name: str, script: str, *extra: str) -> None:
    ok(d.cli("run", "-d", "--name", name, *extra, "busybox", "sh", "-c",
             f"{script}; echo ready; exec sleep 300"))
    eventually(lambda: d.cli("logs", name).stdout == "ready\n")


def _tree(path: Path) -> dict[str, bytes | str]:
    """Files (their bytes) and links (their targets) below ``path``."""
    found: dict[str, bytes | str] = {}
    for item in sorted(path.rglob("*")):
        name = str(item.relative_to(path))
        if item.is_symlink():
            found[name] = os.readlink(item)
        elif item.is_file():
            found[name] = item.read_bytes()
    return found


def _names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return [m.name + ("/" if m.isdir() else "") for m in tar.getmembers()]


D_TREE = {"link": "sub/f", "sub/f": b"one\n", "t": b"top"}


def test_cp_out_of_a_running_and_a_stopped_container(busybox: Daemon, tmp_path: Path) -> None:
    d = busybox
    _start(d, "web", SETUP)
    host_busybox = Path(BUSYBOX).read_bytes()
    for state in ("running", "stopped"):
        out = tmp_path / state
        out.mkdir()
        ok(d.cli("cp", "web:/bin/busybox", str(out / "bb")))
        assert (out / "bb").read_bytes() == host_busybox
        ok(d.cli("cp", "web:/d", str(out / "d")))  # a new name: the directory takes it
        assert _tree(out / "d") == D_TREE
        ok(d.cli("cp", "web:d/.", str(out / "d")))  # relative, and its content only
        assert _tree(out / "d") == D_TREE
        ok(d.cli("cp", "web:/hi", str(out)))  # into a directory: keeps its name
        assert (out / "hi").read_bytes() == b"hello\n"
        streamed = _raw(d, "cp", "web:/d", "-")
        assert streamed.returncode == 0, streamed.stderr
        assert _names(streamed.stdout) == ["d/", "d/link", "d/sub/", "d/sub/f", "d/t"]
        if state == "running":
            ok(d.cli("stop", "-t", "0", "web"))
    loud = d.cli("cp", "-q=false", "web:/hi", str(tmp_path / "hi"))
    # A 6-byte file is a 2048-byte archive (header, one block, end marker), as from docker.
    assert (loud.returncode, loud.stderr) == (
        0, f"Successfully copied 2.05kB to {tmp_path / 'hi'}\n")
    missing = d.cli("cp", "web:/nope", str(tmp_path / "x"))
    assert (missing.returncode, missing.stderr) == (
        1, "Error response from daemon: Could not find the file /nope in container web\n")


def test_cp_into_a_container_and_read_it_back(busybox: Daemon, tmp_path: Path) -> None:
    d = busybox
    (tmp_path / "src" / "a" / "b").mkdir(parents=True)
    (tmp_path / "src" / "a" / "b" / "one").write_bytes(b"1\n")
    payload = tmp_path / "payload.txt"
    payload.write_bytes(b"payload\n")
    _start(d, "web", "true")
    ok(d.cli("cp", str(payload), "web:/tmp/"))
    assert ok(d.cli("exec", "web", "cat", "/tmp/payload.txt")) == "payload\n"
    ok(d.cli("cp", str(payload), "web:/tmp/renamed"))
    assert ok(d.cli("exec", "web", "cat", "/tmp/renamed")) == "payload\n"
    ok(d.cli("cp", str(tmp_path / "src" / "a"), "web:/newdir"))
    assert ok(d.cli("exec", "web", "find", "/newdir")) == "/newdir\n/newdir/b\n/newdir/b/one\n"
    ok(d.cli("cp", f"{tmp_path / 'src' / 'a'}/.", "web:/tmp"))
    assert ok(d.cli("exec", "web", "cat", "/tmp/b/one")) == "1\n"
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo("from-stdin")
        info.size = 6
        tar.addfile(info, io.BytesIO(b"stdin\n"))
    assert _raw(d, "cp", "-", "web:/tmp", stdin=archive.getvalue()).returncode == 0
    assert ok(d.cli("exec", "web", "cat", "/tmp/from-stdin")) == "stdin\n"

    onto_file = d.cli("cp", str(tmp_path / "src" / "a"), "web:/tmp/renamed")
    assert (onto_file.returncode, onto_file.stderr) == (1, "cannot copy directory\n")
    no_parent = d.cli("cp", str(payload), "web:/nope/x")
    assert (no_parent.returncode, no_parent.stderr) == (
        1, "Error response from daemon: Could not find the file /nope in container web\n")

    # Owners: the archive's (ours, root), or with -a the container user's.
    _start(d, "owned", "true", "--user", "nobody", "-v", "owned-data:/data")
    ok(d.cli("cp", str(payload), "owned:/tmp/as-is"))
    ok(d.cli("cp", "-a", str(payload), "owned:/tmp/as-user"))
    assert ok(d.cli("exec", "owned", "stat", "-c", "%u:%g", "/tmp/as-is", "/tmp/as-user")
              ) == "0:0\n65534:65534\n"
    # A stopped container's volume is written and read where it lives, not under it.
    ok(d.cli("stop", "-t", "0", "owned"))
    ok(d.cli("cp", str(payload), "owned:/data/kept"))
    ok(d.cli("cp", "owned:/data/kept", str(tmp_path / "kept")))
    assert (tmp_path / "kept").read_bytes() == b"payload\n"
    assert ok(d.cli("run", "--rm", "-v", "owned-data:/v", "busybox", "cat", "/v/kept")
              ) == "payload\n"

    # Before a container's first start, and while it is stopped: its command reads it.
    ok(d.cli("create", "--name", "reader", "busybox", "cat", "/etc/motd"))
    ok(d.cli("cp", str(payload), "reader:/etc/motd"))
    ok(d.cli("start", "-a", "reader"))
    assert ok(d.cli("logs", "reader")) == "payload\n"
    payload.write_bytes(b"second\n")
    ok(d.cli("cp", str(payload), "reader:/etc/motd"))
    ok(d.cli("start", "-a", "reader"))
    assert ok(d.cli("logs", "reader")) == "payload\nsecond\n"


def test_cp_in_streams_a_large_file_without_holding_it(busybox: Daemon,
                                                      tmp_path: Path) -> None:
    """The CLI spools the archive to a file and sends it a megabyte at a time: its
    memory stays far below the file's size."""
    big = tmp_path / "big"
    with open(big, "wb") as f:
        for _ in range(96):
            f.write(os.urandom(1 << 20))
    ok(busybox.cli("run", "-d", "--name", "sink", "busybox", "sleep", "600"))
    script = ("import resource, subprocess, sys; "
              "r = subprocess.run(sys.argv[1:]); "
              "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
              "sys.exit(r.returncode)")
    out = subprocess.run([sys.executable, "-c", script, DOCKYARD, "--host", busybox.url,
                          "cp", str(big), "sink:/big"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) < 48 * 1024  # KiB: the file is 96 MiB
    assert ok(busybox.cli("exec", "sink", "stat", "-c", "%s", "/big")) == f"{96 << 20}\n"


def test_diff_lists_what_a_container_added_changed_and_deleted(busybox: Daemon) -> None:
    d = busybox
    ok(d.cli("create", "--name", "fresh", "busybox", "true"))
    assert ok(d.cli("diff", "fresh")) == ""
    ok(d.cli("run", "--name", "worked", "busybox", "sh", "-c",
             "rm /bin/true && mkdir /new && echo x > /new/f && rm -r /home && "
             "echo 'me:x:1:1::/:/bin/sh' >> /etc/passwd && touch /tmp/y && rm /tmp/y"))
    assert ok(d.cli("diff", "worked")).splitlines() == [
        "C /bin", "D /bin/true",
        "C /etc/passwd",
        "D /home",
        "A /new", "A /new/f",
        "C /tmp",
    ]
    status, body = d.api("GET", "/containers/worked/changes")
    assert status == 200 and {"Kind": 2, "Path": "/bin/true"} in body  # type: ignore[operator]
    assert d.api("GET", "/containers/fresh/changes") == (200, None)  # dockerd's null


def test_export_has_the_image_and_the_containers_changes(busybox: Daemon,
                                                         tmp_path: Path) -> None:
    d = busybox
    _start(d, "web", "echo mine > /mine; rm /bin/true", "-v", "data:/data")
    ok(d.cli("exec", "web", "sh", "-c", "echo in-volume > /data/v"))
    target = tmp_path / "web.tar"
    ok(d.cli("export", "-o", str(target), "web"))
    with tarfile.open(target) as tar:
        names = tar.getnames()
        assert tar.extractfile("bin/busybox").read() == Path(BUSYBOX).read_bytes()  # type: ignore[union-attr]
        assert tar.extractfile("mine").read() == b"mine\n"  # type: ignore[union-attr]
    assert "bin/true" not in names and "bin/sh" in names
    assert not any(n.startswith(("/", "./")) for n in names)  # relative, no root entry
    assert "proc" in names and not any(n.startswith("proc/") for n in names)
    assert "data/v" not in names  # volumes are not the container's filesystem
    streamed = _raw(d, "export", "web")
    assert streamed.returncode == 0 and streamed.stdout == target.read_bytes()


def test_paths_and_links_never_reach_the_hosts_files(busybox: Daemon, tmp_path: Path) -> None:
    d = busybox
    secret = tmp_path / "secret"
    secret.write_text("HOST SECRET\n")
    (tmp_path / "hostdir").mkdir()
    _start(d, "web", "echo container-shadow > /etc/shadow; ln -s /etc/shadow /evil; "
                     f"ln -s / /hostroot; ln -s {secret} /s; ln -s ../../../../../.. /up; "
                     f"ln -s {tmp_path}/hostdir /hostdir")
    payload = tmp_path / "payload"
    payload.write_text("planted\n")
    for state in ("running", "stopped"):
        out = tmp_path / state
        out.mkdir()
        for source in ("-L web:/evil", "web:/up/etc/shadow", "web:/../../../../etc/shadow",
                       "web:/hostroot/etc/shadow"):
            *flags, ref = source.split()
            ok(d.cli("cp", *flags, ref, str(out / "copy")))
            assert (out / "copy").read_text() == "container-shadow\n"
            (out / "copy").unlink()
        for ref in ("web:/s", f"web:/hostroot{secret}", f"web:/up{secret}"):
            refused = d.cli("cp", "-L", ref, str(out / "copy"))
            assert refused.returncode == 1 and "Could not find the file" in refused.stderr
            assert not (out / "copy").exists()
        # Writing through a container link to a host directory stays in the container.
        status, body = d.api("PUT", "/containers/web/archive", raw=_tar_of("x", b"x"),
                             query={"path": "/hostdir"})
        assert status == 404, body
        status, body = d.api("PUT", "/containers/web/archive",
                             raw=_tar_of("../../../../../../../../../" + str(tmp_path)
                                         + "/hostdir/x", b"x"), query={"path": "/tmp"})
        assert status == 400 and "outside" in body["message"]  # type: ignore[index]
        assert os.listdir(tmp_path / "hostdir") == []
        if state == "running":
            ok(d.cli("stop", "-t", "0", "web"))
    assert "HOST SECRET" not in ok(d.cli("logs", "web"))


def _tar_of(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_api_errors_are_dockers(busybox: Daemon, tmp_path: Path) -> None:
    d = busybox
    for args in (("cp", "nosuch:/etc/hostname", str(tmp_path / "x")),
                 ("cp", str(tmp_path), "nosuch:/tmp"),
                 ("export", "-o", str(tmp_path / "x.tar"), "nosuch"),
                 ("diff", "nosuch")):
        result = d.cli(*args)
        assert (result.returncode, result.stderr) == (
            1, "Error response from daemon: No such container: nosuch\n"), args
    assert not (tmp_path / "x.tar").exists()
    assert d.api("GET", "/containers/nosuch/archive", query={"path": "/"}) == (
        404, {"message": "No such container: nosuch"})
    _start(d, "web", "true")
    assert d.api("GET", "/containers/web/archive") == (
        400, {"message": "bad parameter: path cannot be empty"})
    status, _ = d.api("HEAD", "/containers/web/archive", query={"path": "/nope"})
    assert status == 404
    assert d.api("PUT", "/containers/web/archive", raw=_tar_of("x", b"x"),
                 query={"path": "/etc/passwd"}) == (
        400, {"message": "extraction point is not a directory"})


@needs_docker
def test_the_docker_cli_copies_exports_and_diffs(busybox: Daemon, tmp_path: Path) -> None:
    d = busybox
    _start(d, "web", SETUP + "; rm /bin/true")
    result = _docker_raw(d, "cp", "web:/bin/busybox", str(tmp_path / "bb"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "bb").read_bytes() == Path(BUSYBOX).read_bytes()
    ok(d.docker("cp", "web:/d", str(tmp_path / "d")))
    assert _tree(tmp_path / "d") == D_TREE
    ok(d.docker("cp", "-L", "web:/d/link", str(tmp_path / "followed")))
    assert (tmp_path / "followed").read_bytes() == b"one\n"
    streamed = _docker_raw(d, "cp", "web:/d/", "-")
    assert _names(streamed.stdout) == ["d/", "d/link", "d/sub/", "d/sub/f", "d/t"]
    (tmp_path / "in").write_text("from docker\n")
    ok(d.docker("cp", str(tmp_path / "in"), "web:/tmp/"))
    assert ok(d.docker("exec", "web", "cat", "/tmp/in")) == "from docker\n"
    ok(d.docker("cp", str(tmp_path / "d"), "web:/copied"))
    assert ok(d.cli("exec", "web", "cat", "/copied/sub/f")) == "one\n"
    missing = d.docker("cp", "web:/nope", str(tmp_path / "x"))
    assert missing.returncode == 1
    assert "Could not find the file /nope in container web" in missing.stderr
    assert ok(d.docker("diff", "web")) == ok(d.cli("diff", "web"))
    assert "D /bin/true\n" in ok(d.docker("diff", "web"))
    ok(d.docker("export", "-o", str(tmp_path / "web.tar"), "web"))
    with tarfile.open(tmp_path / "web.tar") as tar:
        assert tar.extractfile("hi").read() == b"hello\n"  # type: ignore[union-attr]
        assert "bin/busybox" in tar.getnames() and "bin/true" not in tar.getnames()
    unknown = d.docker("diff", "nosuch")
    assert (unknown.returncode, unknown.stderr) == (
        1, "Error response from daemon: No such container: nosuch\n")


def test_docker_py_archives_export_and_diff(busybox: Daemon, dockerpy: object) -> None:
    import docker

    client: docker.DockerClient = dockerpy  # type: ignore[assignment]
    c = client.containers.run("busybox", ["sh", "-c", SETUP + "; echo ready; exec sleep 300"],
                              detach=True, name="py")
    eventually(lambda: b"ready" in c.logs())
    stream, stat = c.get_archive("/d")
    assert stat["name"] == "d" and stat["mode"] & (1 << 31) and stat["linkTarget"] == ""
    assert _names(b"".join(stream)) == ["d/", "d/link", "d/sub/", "d/sub/f", "d/t"]
    _, link = c.get_archive("/d/link")
    assert link["mode"] & (1 << 27) and link["linkTarget"] == "/d/sub/f"
    assert c.put_archive("/tmp", _tar_of("put", b"put\n")) is True
    assert c.exec_run(["cat", "/tmp/put"]) == (0, b"put\n")
    assert {"Kind": 1, "Path": "/hi"} in c.diff()
    assert "tmp/put" in _names(b"".join(c.export()))
    with pytest.raises(docker.errors.NotFound, match="Could not find the file /nope"):
        c.get_archive("/nope")
    c.remove(force=True)
