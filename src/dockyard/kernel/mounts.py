"""Mounts the container runtime needs outside the OCI runtime: the overlayfs root.

The manager mounts a container's root itself (rather than leaving it to runc) so that
the merged tree is there before start: the user name is resolved from its
``/etc/passwd`` and a new named volume is seeded from the image's content at its path.
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Sequence

from dockyard.errors import InvalidParameter, KernelError

_libc = ctypes.CDLL(None, use_errno=True)
_MNT_DETACH = 2


def mount_overlay(lower: Sequence[str], upper: str, work: str, target: str) -> None:
    """Mount an overlayfs at ``target``; ``lower`` topmost first."""
    if not lower:
        raise InvalidParameter("image has no layers to mount")
    for path in lower:
        if "," in path or ":" in path:
            raise InvalidParameter(f'invalid layer path "{path}": "," and ":" are not allowed')
    options = f"lowerdir={':'.join(lower)},upperdir={upper},workdir={work}"
    result = _libc.mount(b"overlay", target.encode(), b"overlay", 0, options.encode())
    if result != 0:
        err = ctypes.get_errno()
        raise KernelError(f"mount overlay on {target} ({options}): {os.strerror(err)}")


def unmount(target: str) -> None:
    """Lazy-unmount ``target``; not mounted or missing is success."""
    if _libc.umount2(target.encode(), _MNT_DETACH) != 0:
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOENT):
            raise KernelError(f"umount {target}: {os.strerror(err)}")


def is_mountpoint(path: str) -> bool:
    try:
        return os.path.ismount(path)
    except OSError:
        return False
