"""A read-only layer of the mount points every container needs, shared by all of them.

A container's ``/etc/hosts``, ``/etc/hostname`` and ``/etc/resolv.conf`` are bind
mounts, and a bind mount needs a file to land on. Made in each container's writable
layer, that cost four new inodes per container (``/etc`` copied up, then the files), and
on this class of machine a new inode on a churned ext4 costs up to a millisecond: ~7 ms of
a ~45 ms start. Docker keeps such files in a per-container "init" layer; here one layer,
made once per state root, sits above every image's layers. Like Docker's, it hides
whatever the image had at those paths, which the bind mounts hide anyway.

An image whose ``/etc`` is not a directory (a symlink, say) is not given the layer: a
directory above it would hide the link.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Sequence

from dockyard.runtime.spec import INIT_PATH

DIRECTORIES = ("dev", "etc", "proc", "sys")
FILES = ("etc/hosts", "etc/hostname", "etc/resolv.conf")


def mount_point_layer(directory: str, init: bool = False) -> str:
    """The layer's path under ``directory``, made (atomically) if it is not there yet.
    ``init``: the layer for containers run with dyinit, which also has its mount point
    (a container without an init must not show a ``/.dyinit``)."""
    path = os.path.join(directory, "mountpoints-init" if init else "mountpoints")
    if os.path.isdir(path):
        return path
    os.makedirs(directory, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=directory, prefix=".mountpoints-")
    try:
        os.chmod(tmp, 0o755)
        for name in DIRECTORIES:
            os.mkdir(os.path.join(tmp, name), 0o755)
        for name in (*FILES, INIT_PATH.lstrip("/")) if init else FILES:
            with open(os.path.join(tmp, name), "w"):
                pass
        with contextlib.suppress(FileExistsError, OSError):
            os.rename(tmp, path)  # another manager may have won the race: use its layer
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def fits(image_layers: Sequence[str]) -> bool:
    """Whether the layer can sit above these layers (topmost first): the image's ``/etc``,
    as the topmost layer that has one shows it, is a directory or missing."""
    for layer in image_layers:
        try:
            st = os.lstat(os.path.join(layer, "etc"))
        except FileNotFoundError:
            continue
        return stat.S_ISDIR(st.st_mode)
    return True
