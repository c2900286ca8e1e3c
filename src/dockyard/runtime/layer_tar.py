"""A container's changes as an image layer: its overlayfs upper directory written as a
layer tar in Docker's format (``docker commit``, and each ``RUN`` of a build).

The upper directory already is the layer, in overlayfs's own spelling; the tar spells it
the way layer tars do, which is how :mod:`dockyard.images.layers` reads it back:

- a whiteout (a 0:0 character device) becomes an empty ``.wh.NAME`` beside it;
- an opaque directory (``trusted.overlay.opaque=y``: the container deleted it and made
  it again) is written with an empty ``.wh..wh..opq`` inside, hiding what lay below;
- overlayfs's own ``trusted.overlay.*`` attributes stay behind; the file capabilities
  (``security.capability``) travel, as PAX ``SCHILY.xattr.`` records;
- a file with several links inside the layer is written once, then as hard links.

The walk goes by directory descriptor and opens every file O_NOFOLLOW relative to its
parent: a running container may swap a name for a symlink to the host's files while we
read, and the daemon reads as root.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tarfile
from typing import IO

from dockyard.images.layers import OPAQUE_WHITEOUT, WHITEOUT_PREFIX
from dockyard.runtime.disk import DIRECTORY
from dockyard.runtime.fschanges import Entry, walk_fd

_XATTR_KEPT = ("security.capability",)
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def write_upper_layer(upper: str, out: IO[bytes]) -> None:
    """Write the layer tar of the upper directory ``upper`` to ``out`` (uncompressed)."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        try:
            fd = os.open(upper, DIRECTORY)
        except (FileNotFoundError, NotADirectoryError):
            return  # nothing changed, or nothing left: an empty layer
        links: dict[tuple[int, int], str] = {}
        for parent, name, entry in walk_fd(fd):
            _add(tar, parent, name, entry, links)


def _add(tar: tarfile.TarFile, parent: int, name: str, entry: Entry,
         links: dict[tuple[int, int], str]) -> None:
    arcname = entry.path.lstrip("/")
    try:
        st = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return  # removed by the running container since the walk saw it
    if entry.is_whiteout:
        head, _, base = arcname.rpartition("/")
        tar.addfile(_header(_joined(head, WHITEOUT_PREFIX + base), st, tarfile.REGTYPE))
        return
    if stat.S_ISDIR(st.st_mode):
        info = _header(arcname, st, tarfile.DIRTYPE)
        _copy_xattrs(info, parent, name)
        tar.addfile(info)
        if entry.opaque:
            tar.addfile(_header(_joined(arcname, OPAQUE_WHITEOUT), st, tarfile.REGTYPE))
        return
    if stat.S_ISLNK(st.st_mode):
        info = _header(arcname, st, tarfile.SYMTYPE)
        info.linkname = os.readlink(name, dir_fd=parent)
        tar.addfile(info)
        return
    if stat.S_ISREG(st.st_mode):
        _add_file(tar, parent, name, arcname, links)
        return
    kind = (tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else
            tarfile.BLKTYPE if stat.S_ISBLK(st.st_mode) else
            tarfile.FIFOTYPE if stat.S_ISFIFO(st.st_mode) else None)
    if kind is None:
        return  # a socket: tar has no record for it, and Docker leaves it out too
    info = _header(arcname, st, kind)
    info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    tar.addfile(info)


def _add_file(tar: tarfile.TarFile, parent: int, name: str, arcname: str,
              links: dict[tuple[int, int], str]) -> None:
    try:
        fd = os.open(name, _READ, dir_fd=parent)
    except OSError:
        return  # gone, or swapped for a link since the walk: not followed
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in links:
            info = _header(arcname, st, tarfile.LNKTYPE)
            info.linkname = links[key]
            tar.addfile(info)
            return
        if st.st_nlink > 1:
            links[key] = arcname
        info = _header(arcname, st, tarfile.REGTYPE)
        info.size = st.st_size
        _copy_xattrs(info, fd, None)
        # The size is fixed in the header: a file the container grows meanwhile is cut
        # there, one it shrinks is padded (tarfile fails on a short read: read ourselves).
        tar.addfile(info, _Exactly(handle, st.st_size))


def _header(arcname: str, st: os.stat_result, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(arcname)
    info.type = kind
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid = st.st_uid, st.st_gid
    info.uname = info.gname = ""
    info.mtime = st.st_mtime
    info.size = 0
    return info


def _copy_xattrs(info: tarfile.TarInfo, where: int, name: str | None) -> None:
    """The kept attributes of an open file (``name`` None) or of the directory ``name``
    in the directory ``where``."""
    for key in _XATTR_KEPT:
        with contextlib.suppress(OSError):
            value = os.getxattr(where, key) if name is None else _dir_xattr(where, name, key)
            info.pax_headers = {**info.pax_headers,
                                "SCHILY.xattr." + key: value.decode("latin-1")}


def _dir_xattr(parent: int, name: str, key: str) -> bytes:
    fd = os.open(name, DIRECTORY, dir_fd=parent)
    try:
        return os.getxattr(fd, key)
    finally:
        os.close(fd)


def _joined(head: str, base: str) -> str:
    return f"{head}/{base}" if head else base


class _Exactly:
    """A file's first ``size`` bytes, zero-padded if it has fewer by now."""

    def __init__(self, handle: IO[bytes], size: int) -> None:
        self._handle = handle
        self._left = size

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        n = self._left if n < 0 else min(n, self._left)
        data = self._handle.read(n)
        if len(data) < n:
            data += b"\0" * (n - len(data))
        self._left -= len(data)
        return data
