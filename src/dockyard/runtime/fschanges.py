"""``docker diff``: what a container changed, read from its overlayfs upper directory.

The upper directory holds every name the container created, changed or deleted; the
image's layers (and the shared mount-point layer, dockerd's "init" layer) say what was
there before. dockerd walks the upper directory in name order and reports, for each name:

- a whiteout (a 0:0 character device) as deleted (``D``, kind 2);
- an opaque directory (``trusted.overlay.opaque=y``: deleted, then made again) as deleted
  when the layers below had it, its new content then being added;
- anything else as changed (``C``, 0) when the layers below had the name, else added
  (``A``, 1); a directory whose size, mode and time are those below is no change (it is
  only there because something inside it changed);
- and the directory holding an added or deleted name as changed, once, before it.

:func:`collect_changes` is that rule over plain values; :func:`walk_upper` and
:func:`lower_lookup` read the directories. Neither follows a symlink: a name is looked up
layer by layer, one component at a time, so a link in a layer never leads out of it.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from dockyard.archivepath import go_file_mode
from dockyard.runtime.disk import DIRECTORY, open_subdirectory, sorted_names

MODIFIED, ADDED, DELETED = 0, 1, 2
KIND_LETTERS = {MODIFIED: "C", ADDED: "A", DELETED: "D"}
OPAQUE_XATTR = "trusted.overlay.opaque"


@dataclass(frozen=True)
class Entry:
    """One name in a layer directory, as lstat and the overlay xattr show it."""

    path: str  # absolute in the container: "/etc/x"
    mode: int  # st_mode
    size: int = 0
    mtime_ns: int = 0
    rdev: int = 0
    opaque: bool = False

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)

    @property
    def is_whiteout(self) -> bool:
        return stat.S_ISCHR(self.mode) and self.rdev == 0


def _same_time(a_ns: int, b_ns: int) -> bool:
    """moby's ``sameFsTime``: equal, or the same second with one side whole seconds (a
    time that went through a tar archive lost its fraction)."""
    if a_ns == b_ns:
        return True
    return a_ns // 1_000_000_000 == b_ns // 1_000_000_000 and (
        a_ns % 1_000_000_000 == 0 or b_ns % 1_000_000_000 == 0)


def _unchanged_dir(entry: Entry, below: Entry) -> bool:
    return (entry.is_dir and below.is_dir and entry.size == below.size
            and go_file_mode(entry.mode) == go_file_mode(below.mode)
            and _same_time(entry.mtime_ns, below.mtime_ns))


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


def collect_changes(upper: Iterable[Entry], lower: Callable[[str], Entry | None]
                    ) -> list[tuple[str, int]]:
    """(path, kind) in dockerd's order. ``upper``: the upper directory's entries, each
    directory before what it holds, names sorted; ``lower(path)``: the entry the layers
    below show at ``path`` (None if none)."""
    changes: list[tuple[str, int]] = []
    changed_dirs: set[str] = set()
    for entry in upper:
        below = lower(entry.path)
        if entry.is_whiteout or (entry.opaque and below is not None):
            kind = DELETED
        elif below is None:
            kind = ADDED
        elif _unchanged_dir(entry, below):
            continue
        else:
            kind = MODIFIED
        if entry.is_dir:
            changed_dirs.add(entry.path)
        parent = _parent(entry.path)
        if kind != MODIFIED and parent != "/" and parent not in changed_dirs:
            changes.append((parent, MODIFIED))
            changed_dirs.add(parent)
        changes.append((entry.path, kind))
    return changes


# --------------------------------------------------------------- reading directories


def _entry(path: str, st: os.stat_result, opaque: bool = False) -> Entry:
    return Entry(path, st.st_mode, st.st_size, st.st_mtime_ns, st.st_rdev, opaque)


def _opaque(where: str | int) -> bool:
    """Whether the directory (a path, never followed if a link, or an open descriptor)
    is an opaque overlayfs directory."""
    try:
        if isinstance(where, int):
            return os.getxattr(where, OPAQUE_XATTR) == b"y"
        return os.getxattr(where, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def walk_upper(host: str, path: str = "") -> Iterator[Entry]:
    """Every name below the directory ``host`` (standing at container ``path``), depth
    first, each directory's names in byte order as Go's ``filepath.Walk`` gives them.
    Names that vanish while a running container changes them are skipped.

    The walk goes by directory descriptor, each opened O_NOFOLLOW relative to its parent:
    a running container writes this very directory, and a directory it swaps for a
    symlink to / between our look and our descent must not lead the daemon (root, on
    the host) into the host's tree."""
    try:
        fd = os.open(host, DIRECTORY)
    except (FileNotFoundError, NotADirectoryError):
        return
    for _, _, entry in walk_fd(fd, path):
        yield entry


def walk_fd(fd: int, path: str = "") -> Iterator[tuple[int, str, Entry]]:
    """The names below the open directory ``fd``, depth first, each with its parent's
    descriptor (open until the parent's last name has been yielded, so a caller reads a
    file relative to it, never by a path a container could redirect); closes ``fd``. A
    stack, not recursion: a container can make its tree deeper than Python's recursion
    limit."""
    stack = [(fd, path, iter(sorted_names(fd)))]
    try:
        while stack:
            parent, parent_path, names = stack[-1]
            name = next(names, None)
            if name is None:
                stack.pop()
                os.close(parent)
                continue
            child_path = f"{parent_path}/{name}"
            try:
                st = os.stat(name, dir_fd=parent, follow_symlinks=False)
            except FileNotFoundError:
                continue
            sub = open_subdirectory(parent, name) if stat.S_ISDIR(st.st_mode) else None
            yield parent, name, _entry(child_path, st, sub is not None and _opaque(sub))
            if sub is not None:
                stack.append((sub, child_path, iter(sorted_names(sub))))
    finally:
        for parent, _, _ in stack:
            os.close(parent)


def lower_lookup(layers: Sequence[str]) -> Callable[[str], Entry | None]:
    """What overlayfs shows at a path from these layers (topmost first): the first layer
    that has the name wins, a whiteout hides it, and a layer hides every layer below it
    at a name whose parent it holds as an opaque directory or as a non-directory."""

    def lookup(path: str) -> Entry | None:
        names = [n for n in path.split("/") if n]
        for layer in layers:
            found, hides = _in_layer(layer, names, path)
            if found is not None:
                return None if found.is_whiteout else found
            if hides:
                return None
        return None
    return lookup


def _in_layer(layer: str, names: list[str], path: str) -> tuple[Entry | None, bool]:
    """(the layer's entry at ``names``, whether the layer hides that name in the layers
    below it)."""
    host = layer
    hidden = False
    for depth, name in enumerate(names):
        host = os.path.join(host, name)
        try:
            st = os.lstat(host)
        except OSError as err:
            if err.errno in (errno.ENOENT, errno.ENOTDIR):
                return None, hidden
            raise
        if depth == len(names) - 1:
            return _entry(path, st), False
        if not stat.S_ISDIR(st.st_mode):
            return None, True  # deleted (a whiteout), or a file or link in a parent's place
        # Whatever this layer lacks below an opaque directory, the lower ones cannot show.
        hidden = hidden or _opaque(host)
    return None, hidden


def container_changes(upper: str, layers: Sequence[str]) -> list[tuple[str, int]]:
    """``GET /containers/{id}/changes`` for a container's upper directory and the layers
    below it (topmost first)."""
    return collect_changes(walk_upper(upper), lower_lookup(layers))
