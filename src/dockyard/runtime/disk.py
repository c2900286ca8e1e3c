"""How many bytes a directory tree holds, counted the way Docker counts a container's
writable layer (``SizeRw``): the apparent size of everything that is not a directory,
symlinks as links (never followed), a file with several hard links once. Directories
and overlayfs whiteouts (0/0 character devices) add nothing.

It walks the whole tree, so the API computes it only when a client asks (``size=1``).
"""

from __future__ import annotations

import os
import stat

DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def sorted_names(fd: int) -> list[str]:
    """The names in the open directory ``fd``, in byte order (Go's walk order)."""
    try:
        with os.scandir(fd) as it:
            return sorted((e.name for e in it), key=os.fsencode)
    except OSError:  # removed while we read it
        return []


def open_subdirectory(parent: int, name: str) -> int | None:
    """``name`` in ``parent`` opened as a directory, never through a symlink; None when it
    is gone or is no longer a directory."""
    try:
        return os.open(name, DIRECTORY, dir_fd=parent)
    except OSError:
        return None


def tree_size(path: str) -> int:
    """Bytes under ``path``; 0 if it does not exist. Entries that vanish during the walk
    (the container is running and writing) are skipped, not errors.

    By directory descriptor, never through a symlink, and with a stack rather than
    recursion: the tree may be a running container's, which can swap a directory for a
    link to / or nest directories deeper than Python's recursion limit."""
    try:
        root = os.open(path, DIRECTORY)
    except OSError:
        return 0
    total = 0
    seen: set[tuple[int, int]] = set()
    stack = [(root, iter(sorted_names(root)))]
    try:
        while stack:
            parent, names = stack[-1]
            name = next(names, None)
            if name is None:
                stack.pop()
                os.close(parent)
                continue
            try:
                info = os.stat(name, dir_fd=parent, follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                sub = open_subdirectory(parent, name)
                if sub is not None:
                    stack.append((sub, iter(sorted_names(sub))))
                continue
            if info.st_size == 0:
                continue
            if info.st_nlink > 1:
                key = (info.st_dev, info.st_ino)
                if key in seen:
                    continue
                seen.add(key)
            total += info.st_size
    finally:
        for parent, _ in stack:
            os.close(parent)
    return total
