"""A container root held open: no path, link or archive member leads out of it. Runs on a
temporary directory standing for a container's root (``openat2`` needs no privilege)."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.errors import Conflict, InvalidParameter, NotFound
from dockyard.kernel.fstar import ExtractOptions, extract_archive, write_archive
from dockyard.kernel.rootfs import Root


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A host with a secret, and a container root whose links point at the host."""
    (tmp_path / "secret").write_text("HOST SECRET\n")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hostname").write_text("container\n")
    (root / "etc" / "group").write_text("root:x:0:\n")
    os.symlink(str(tmp_path / "secret"), root / "to-host")  # an absolute host path
    os.symlink("/etc/hostname", root / "evil")
    os.symlink("../../../../../../..", root / "up")
    os.link(root / "etc" / "group", root / "etc" / "group-")
    os.mkfifo(root / "etc" / "fifo")
    return tmp_path


@pytest.fixture
def root(host: Path) -> Iterator[Root]:
    with Root(os.open(host / "root", os.O_PATH | os.O_DIRECTORY), "test") as r:
        yield r


def _read(root: Root, path: str) -> bytes:
    fd = root.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 100)
    finally:
        os.close(fd)


def test_links_and_dot_dot_resolve_inside_the_root(root: Root, host: Path) -> None:
    assert _read(root, "/evil") == b"container\n"
    assert _read(root, "/up/etc/hostname") == b"container\n"
    assert _read(root, "../../../etc/hostname") == b"container\n"
    with pytest.raises(FileNotFoundError):
        _read(root, "/to-host")  # the host path does not exist inside the root
    with pytest.raises(FileNotFoundError):
        _read(root, f"/up{host}/secret")
    assert root.resolve("/evil") == "/etc/hostname"
    assert root.resolve("/up/etc/../evil") == "/etc/hostname"
    assert root.resolve("/to-host") == str(host / "secret")  # a name only: never opened
    assert stat.S_ISLNK(root.lstat("/evil").st_mode)
    assert stat.S_ISREG(root.stat("/evil").st_mode)


def _archive(root: Root, path: str, top: str) -> tarfile.TarFile:
    out = io.BytesIO()
    write_archive(root, path, top, out)
    return tarfile.open(fileobj=io.BytesIO(out.getvalue()))


def test_archives_are_named_as_dockerd_names_them(root: Root) -> None:
    names = _archive(root, "/etc", "etc").getnames()
    assert names == ["etc", "etc/fifo", "etc/group", "etc/group-", "etc/hostname"]
    assert _archive(root, "/etc/.", ".").getnames()[:2] == [".", "./fifo"]
    assert _archive(root, "/etc/hostname", "hostname").getnames() == ["hostname"]
    everything = _archive(root, "/", "")
    assert "etc/hostname" in everything.getnames() and "" not in everything.getnames()


def test_archives_keep_links_as_links_and_never_follow_them(root: Root) -> None:
    tar = _archive(root, "/", "")
    link = tar.getmember("to-host")
    assert link.issym() and link.linkname.endswith("/secret")
    assert tar.getmember("evil").issym()
    assert tar.getmember("etc/fifo").isfifo()  # archived, not opened (it would block)
    second = tar.getmember("etc/group-")
    assert second.islnk() and second.linkname == "etc/group"
    assert b"HOST SECRET" not in b"".join(
        tar.extractfile(m).read() for m in tar.getmembers() if m.isreg())  # type: ignore[union-attr]
    archived = _archive(root, "/evil", "evil")
    assert [m.type for m in archived.getmembers()] == [tarfile.SYMTYPE]


def test_a_missing_path_is_not_found(root: Root) -> None:
    with pytest.raises(NotFound, match="/nope"):
        write_archive(root, "/nope", "nope", io.BytesIO())


def _tar(*members: tuple[str, bytes | str | None]) -> io.BytesIO:
    """Members: (name, bytes: a file | str: a symlink to it | None: a directory)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, content in members:
            info = tarfile.TarInfo(name)
            if content is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            elif isinstance(content, str):
                info.type = tarfile.SYMTYPE
                info.linkname = content
                tar.addfile(info)
            else:
                info.size = len(content)
                info.mode = 0o640
                tar.addfile(info, io.BytesIO(content))
    out.seek(0)
    return out


NO_CHOWN = ExtractOptions(chown=False)


def test_extraction_lands_inside_the_root(root: Root, host: Path) -> None:
    extract_archive(root, "/etc", _tar(("d", None), ("d/f", b"data")), NO_CHOWN)
    assert (host / "root" / "etc" / "d" / "f").read_bytes() == b"data"
    assert stat.S_IMODE(os.stat(host / "root" / "etc" / "d" / "f").st_mode) == 0o640
    # Into a link to a directory: the link is followed, inside the root.
    os.symlink("/etc/d", host / "root" / "dlink")
    extract_archive(root, "/dlink", _tar(("g", b"g")), NO_CHOWN)
    assert (host / "root" / "etc" / "d" / "g").read_bytes() == b"g"
    # A container link to a host directory leads to that path inside the root.
    os.symlink(str(host), host / "root" / "hostdir")
    with pytest.raises(NotFound):
        extract_archive(root, "/hostdir", _tar(("planted", b"x")), NO_CHOWN)
    assert not (host / "planted").exists()


def test_archives_climbing_out_are_refused(root: Root, host: Path) -> None:
    with pytest.raises(InvalidParameter, match="outside"):
        extract_archive(root, "/etc", _tar(("../../../../planted", b"x")), NO_CHOWN)
    with pytest.raises(InvalidParameter, match="invalid symlink"):
        extract_archive(root, "/etc", _tar(("l", "../../x")), NO_CHOWN)
    # A link to a host directory in the archive, then a file through it: the link leads
    # to that path inside the root, missing there (as in dockerd's chroot, an error)...
    planting = _tar(("out", str(host)), ("out/planted", b"x"))
    with pytest.raises(NotFound, match="/out/planted"):
        extract_archive(root, "/", planting, NO_CHOWN)
    assert not (host / "planted").exists()
    # ... and where it exists inside the root, the file lands there.
    (host / "root" / str(host).lstrip("/")).mkdir(parents=True)
    planting.seek(0)
    extract_archive(root, "/", planting, NO_CHOWN)
    assert not (host / "planted").exists()
    assert (host / "root" / str(host).lstrip("/") / "planted").read_bytes() == b"x"


def test_directories_and_files_do_not_replace_each_other_when_asked(root: Root) -> None:
    strict = ExtractOptions(no_overwrite_dir_non_dir=True, chown=False)
    with pytest.raises(Conflict, match="cannot overwrite directory"):
        extract_archive(root, "/", _tar(("etc", b"file")), strict)
    with pytest.raises(Conflict, match="cannot overwrite non-directory"):
        extract_archive(root, "/etc", _tar(("hostname", None)), strict)
    extract_archive(root, "/etc", _tar(("hostname", b"replaced\n")), strict)
    assert _read(root, "/etc/hostname") == b"replaced\n"


def test_extracting_into_a_file_is_refused(root: Root) -> None:
    with pytest.raises(InvalidParameter, match="extraction point is not a directory"):
        extract_archive(root, "/etc/hostname", _tar(("x", b"x")), NO_CHOWN)
