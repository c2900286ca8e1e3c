"""How many bytes a directory tree holds, counted the way Docker counts a container's
writable layer (``SizeRw``): the apparent size of everything that is not a directory,
symlinks as links (never followed), a file with several hard links once. Directories
and overlayfs whiteouts (0/0 character devices) add nothing.

It walks the whole tree, so the API computes it only when a client asks (``size=1``).
"""

from __future__ import annotations

import os
import stat


def tree_size(path: str) -> int:
    """Bytes under ``path``; 0 if it does not exist. Entries that vanish during the walk
    (the container is running and writing) are skipped, not errors."""
    total = 0
    seen: set[tuple[int, int]] = set()
    pending = [path]
    while pending:
        try:
            entries = os.scandir(pending.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISDIR(info.st_mode):
                    pending.append(entry.path)
                    continue
                if info.st_size == 0:
                    continue
                if info.st_nlink > 1:
                    key = (info.st_dev, info.st_ino)
                    if key in seen:
                        continue
                    seen.add(key)
                total += info.st_size
    return total
