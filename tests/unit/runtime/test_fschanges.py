"""``docker diff``: changes from an overlay upper directory against the layers below."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dockyard.runtime.disk import tree_size
from dockyard.runtime.fschanges import (
    ADDED,
    DELETED,
    MODIFIED,
    Entry,
    collect_changes,
    container_changes,
    lower_lookup,
    walk_upper,
)

DIR = stat.S_IFDIR | 0o755
FILE = stat.S_IFREG | 0o644
WHITEOUT = stat.S_IFCHR | 0o000
SECOND = 1_000_000_000


def _lower(entries: list[Entry]) -> dict[str, Entry]:
    return {e.path: e for e in entries}


def test_added_changed_deleted_with_parents_once_and_before() -> None:
    below = _lower([
        Entry("/bin", DIR, 4096, 10 * SECOND), Entry("/bin/true", FILE, 5),
        Entry("/etc", DIR, 4096, 20 * SECOND), Entry("/etc/passwd", FILE, 100),
        Entry("/tmp", DIR, 4096, 30 * SECOND),
    ])
    upper = [
        Entry("/bin", DIR, 4096, 99 * SECOND),  # its time changed: a change of its own
        Entry("/bin/true", WHITEOUT, rdev=0),
        Entry("/etc", DIR, 4096, 20 * SECOND),  # only there for what it holds
        Entry("/etc/passwd", FILE, 120),
        Entry("/new", DIR, 4096), Entry("/new/f", FILE, 2),
        Entry("/tmp", DIR, 4096, 30 * SECOND), Entry("/tmp/x", FILE, 1),
    ]
    assert collect_changes(upper, below.get) == [
        ("/bin", MODIFIED), ("/bin/true", DELETED),
        ("/etc/passwd", MODIFIED),
        ("/new", ADDED), ("/new/f", ADDED),
        ("/tmp", MODIFIED), ("/tmp/x", ADDED),  # the parent of an addition, listed first
    ]


def test_a_directory_time_rounded_by_a_tar_is_the_same_time() -> None:
    below = _lower([Entry("/d", DIR, 4096, 7 * SECOND + 123)])
    assert collect_changes([Entry("/d", DIR, 4096, 7 * SECOND)], below.get) == []
    assert collect_changes([Entry("/d", DIR, 4096, 8 * SECOND)], below.get) == [
        ("/d", MODIFIED)]
    assert collect_changes([Entry("/d", DIR | 0o022, 4096, 7 * SECOND)], below.get) == [
        ("/d", MODIFIED)]


def test_opaque_directories_replace_what_was_below() -> None:
    below = _lower([Entry("/etc", DIR), Entry("/etc/old", FILE)])
    upper = [Entry("/etc", DIR, opaque=True), Entry("/etc/new", FILE),
             Entry("/fresh", DIR, opaque=True), Entry("/fresh/f", FILE)]
    assert collect_changes(upper, below.get) == [
        ("/etc", DELETED), ("/etc/new", ADDED),  # deleted and made anew
        ("/fresh", ADDED), ("/fresh/f", ADDED),  # nothing below: simply added
    ]


def test_a_whiteout_of_a_nested_name_lists_its_parent() -> None:
    below = _lower([Entry("/a", DIR), Entry("/a/b", DIR), Entry("/a/b/c", FILE)])
    upper = [Entry("/a", DIR), Entry("/a/b", DIR), Entry("/a/b/c", WHITEOUT)]
    assert collect_changes(upper, below.get) == [("/a/b", MODIFIED), ("/a/b/c", DELETED)]


def _touch(path: Path, data: bytes = b"x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_layers_are_read_without_following_their_links(tmp_path: Path) -> None:
    """A layer's link where a directory is expected hides the names below it instead of
    leading the lookup out of the layer (here: to the host's /etc)."""
    top, bottom = tmp_path / "top", tmp_path / "bottom"
    _touch(bottom / "etc" / "hostname")
    top.mkdir()
    os.symlink("/etc", top / "etc")
    lookup = lower_lookup([str(top), str(bottom)])
    assert lookup("/etc/hostname") is None
    assert lookup("/etc") is not None and stat.S_ISLNK(lookup("/etc").mode)  # type: ignore[union-attr]
    assert lower_lookup([str(bottom)])("/etc/hostname") is not None


def test_changes_of_real_directories_in_name_order(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    _touch(lower / "etc" / "passwd", b"root")
    _touch(lower / "srv" / "keep")
    _touch(upper / "etc" / "passwd", b"root\nme")
    _touch(upper / "b")
    _touch(upper / "srv" / "z" / "new")
    os.utime(upper / "etc", ns=(os.stat(lower / "etc").st_atime_ns,
                               os.stat(lower / "etc").st_mtime_ns))
    os.chmod(upper / "etc", os.stat(lower / "etc").st_mode)
    os.utime(upper / "srv", ns=(0, os.stat(lower / "srv").st_mtime_ns))
    os.chmod(upper / "srv", os.stat(lower / "srv").st_mode)
    assert container_changes(str(upper), [str(lower)]) == [
        ("/b", ADDED),
        ("/etc/passwd", MODIFIED),  # /etc itself is as it was: not listed
        ("/srv", MODIFIED), ("/srv/z", ADDED), ("/srv/z/new", ADDED)]


@pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts are device nodes: needs root")
def test_whiteouts_and_opaque_directories_on_disk(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    _touch(lower / "bin" / "true")
    _touch(lower / "opt" / "old")
    (upper / "bin").mkdir(parents=True)
    os.mknod(upper / "bin" / "true", stat.S_IFCHR | 0o600, os.makedev(0, 0))
    _touch(upper / "opt" / "new")
    os.setxattr(upper / "opt", "trusted.overlay.opaque", b"y")
    changes = container_changes(str(upper), [str(lower)])
    assert changes[1:] == [("/bin/true", DELETED), ("/opt", DELETED), ("/opt/new", ADDED)]
    assert changes[0] == ("/bin", MODIFIED)
    # Below the opaque /opt, the lower layer's /opt/old is gone.
    assert lower_lookup([str(upper), str(lower)])("/opt/old") is None


def test_a_directory_swapped_for_a_link_is_not_followed(tmp_path: Path) -> None:
    """A running container can swap a directory of its upper layer for a link to / while
    the daemon walks it: the walk must stay in the container's own files."""
    upper = tmp_path / "upper"
    (upper / "a").mkdir(parents=True)
    _touch(upper / "a" / "mine")
    walk = walk_upper(str(upper))
    first = next(walk)
    assert first.path == "/a"
    (upper / "a").rename(tmp_path / "moved")
    (upper / "a").symlink_to("/etc")
    rest = [entry.path for entry in walk]
    assert rest == ["/a/mine"]  # the directory it opened, never /etc
    assert tree_size(str(upper)) == len("/etc")  # the link itself, not what it points at


def test_deeper_than_the_recursion_limit(tmp_path: Path) -> None:
    deep = tmp_path / "upper"
    os.makedirs(deep)
    levels = []  # one descriptor per level: paths this deep outgrow PATH_MAX
    try:
        levels.append(os.open(deep, os.O_RDONLY))
        for _ in range(1500):
            os.mkdir("d", dir_fd=levels[-1])
            levels.append(os.open("d", os.O_RDONLY, dir_fd=levels[-1]))
        with open(os.open("f", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=levels[-1]),
                  "wb") as f:
            f.write(b"xyz")
        entries = list(walk_upper(str(deep)))
        assert len(entries) == 1501 and entries[-1].path.endswith("/d/f")
        assert tree_size(str(deep)) == 3
    finally:  # bottom up: shutil.rmtree (pytest's cleanup) recurses and would fail here
        if len(levels) > 1:
            os.unlink("f", dir_fd=levels[-1])
        while len(levels) > 1:
            os.close(levels.pop())
            os.rmdir("d", dir_fd=levels[-1])
        for fd in levels:
            os.close(fd)
