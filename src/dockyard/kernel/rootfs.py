"""A container's root directory held open, in which every path resolves as in a chroot.

``docker cp`` and ``docker export`` read and write a container's files from the daemon,
which runs as root on the host: a symlink the container made (``/x -> /etc/shadow``) or a
``../../`` in a request must never lead to the host's files. Every path is therefore
resolved by the kernel with ``openat2(RESOLVE_IN_ROOT)`` against a descriptor of the
container's root: absolute link targets start again from that root, ``..`` stops at it,
and /proc-style magic links are refused. Nothing is looked up by host path below it.

Two kinds of root:

- :func:`open_process_root`, a running container's root as its init sees it
  (``/proc/PID/root``): its volumes, bind mounts and ``/etc/hosts`` included. Opening
  ``/proc/PID/root`` only hands us the descriptor; resolution below it is ``openat2``'s,
  not the magic link's (whose absolute symlinks would restart from the *caller's* root).
- :func:`mount_view`, an overlay of the container's directories mounted with the new
  mount API and never attached anywhere: no mount point to clean up after a crash, and
  gone when the descriptor closes. Without an upper directory it is read-only and its
  "lowers" may include the container's upper directory itself, which is how a stopped
  container (or any container's own filesystem, for ``export``) is read without
  touching the mount a running container uses.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import stat
from collections.abc import Iterator, Sequence

from dockyard.archivepath import (
    base,
    clean,
    dirname,
    follow_in_scope,
    relative_to_root,
)
from dockyard.errors import DockyardError, InvalidParameter, KernelError, NotFound
from dockyard.kernel import process

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

# The same numbers on every architecture (these syscalls postdate the split tables).
_SYS_FSOPEN, _SYS_FSCONFIG, _SYS_FSMOUNT, _SYS_OPENAT2 = 430, 431, 432, 437
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_IN_ROOT = 0x10
_FSOPEN_CLOEXEC = 1
_FSCONFIG_SET_STRING = 1
_FSCONFIG_CMD_CREATE = 6
_FSMOUNT_CLOEXEC = 1
_MOUNT_ATTR_RDONLY, _MOUNT_ATTR_NOSUID, _MOUNT_ATTR_NODEV, _MOUNT_ATTR_NOEXEC = 1, 2, 4, 8
_FSCONFIG_MAX = 255  # fsconfig copies at most 256 bytes of a string value

# Filesystems whose content is the kernel's, not the container's: a walk never enters them
# (a running container's /proc and /sys would be endless and are not its files; dockerd's
# view has them as empty directories).
PSEUDO_FILESYSTEMS = frozenset({
    0x9FA0,  # proc
    0x62656572,  # sysfs
    0x63677270,  # cgroup2
    0x27E0EB,  # cgroup
    0x1CD1,  # devpts
    0x19800202,  # mqueue
    0x64626720,  # debugfs
    0x74726163,  # tracefs
    0x73636673,  # securityfs
    0xCAFE4A11,  # bpf
    0x6165676C,  # pstore
    0x62656570,  # configfs
})


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                ("resolve", ctypes.c_uint64)]


def path_error(err: OSError, path: str, action: str) -> DockyardError:
    """An OSError on a container path as one of our kinds, naming the path."""
    if err.errno in (errno.ENOENT, errno.ESRCH):
        return NotFound(f"{path}: no such file or directory")
    if err.errno in (errno.ENOTDIR, errno.ELOOP, errno.EEXIST, errno.EISDIR, errno.ENOTEMPTY,
                     errno.EROFS, errno.EXDEV, errno.ENAMETOOLONG, errno.EINVAL):
        return InvalidParameter(f"{action} {path}: {os.strerror(err.errno)}")
    return KernelError(f"{action} {path}: {os.strerror(err.errno or 0) or err}")


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def _openat2(dirfd: int, path: str, flags: int, mode: int) -> int:
    how = _OpenHow(flags | os.O_CLOEXEC, mode, _RESOLVE_IN_ROOT | _RESOLVE_NO_MAGICLINKS)
    encoded = os.fsencode(path)
    for _ in range(64):  # EAGAIN: a rename or mount raced the lookup; it is safe to retry
        result = _libc.syscall(ctypes.c_long(_SYS_OPENAT2), ctypes.c_int(dirfd), encoded,
                               ctypes.byref(how), ctypes.c_size_t(ctypes.sizeof(how)))
        if result >= 0:
            return int(result)
        err = ctypes.get_errno()
        if err != errno.EAGAIN:
            raise OSError(err, os.strerror(err), path)
    raise OSError(errno.EAGAIN, os.strerror(errno.EAGAIN), path)


class _StatFs(ctypes.Structure):
    _fields_ = [("f_type", ctypes.c_long), ("rest", ctypes.c_byte * 120)]


def filesystem_type(fd: int) -> int:
    buf = _StatFs()
    _check(_libc.fstatfs(ctypes.c_int(fd), ctypes.byref(buf)), "fstatfs")
    return int(buf.f_type) & 0xFFFFFFFF


def is_pseudo_filesystem(fd: int) -> bool:
    return filesystem_type(fd) in PSEUDO_FILESYSTEMS


class Root:
    """A directory descriptor standing for a container's "/" (owned: :meth:`close`)."""

    def __init__(self, fd: int, what: str) -> None:
        self.fd = fd
        self.what = what  # for messages: whose root this is

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Root:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self, path: str, flags: int, mode: int = 0) -> int:
        """``path`` (absolute in the container) opened below the root, links included
        (``O_NOFOLLOW`` for the last name as usual); OSError as the kernel says."""
        return _openat2(self.fd, relative_to_root(path), flags, mode)

    @contextlib.contextmanager
    def parent(self, path: str) -> Iterator[tuple[int, str]]:
        """(descriptor of the directory holding ``path``, the last name): for the calls
        that must not follow that name (lstat, readlink, unlink, mkdir, symlink)."""
        fd = self.open(dirname(relative_path(path)), os.O_PATH | os.O_DIRECTORY)
        try:
            yield fd, base(path)
        finally:
            os.close(fd)

    def lstat(self, path: str) -> os.stat_result:
        if is_root(path):
            return os.fstat(self.fd)
        with self.parent(path) as (fd, name):
            return os.stat(name, dir_fd=fd, follow_symlinks=False)

    def stat(self, path: str) -> os.stat_result:
        fd = self.open(path, os.O_PATH)
        try:
            return os.fstat(fd)
        finally:
            os.close(fd)

    def readlink(self, path: str) -> str | None:
        """The target of the link at ``path``; None if it is none or not there."""
        if is_root(path):
            return None
        try:
            with self.parent(path) as (fd, name):
                if not stat.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode):
                    return None
                return os.readlink(name, dir_fd=fd)
        except (FileNotFoundError, NotADirectoryError):
            return None

    def resolve(self, path: str) -> str:
        """``path`` with every link on it followed, the last one too, inside this root."""
        return follow_in_scope(path, self.readlink)

    def read_file(self, path: str, limit: int = 1 << 20) -> bytes:
        """A small file of the container (its /etc/passwd), "" if it has none."""
        try:
            fd = self.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            return b""
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return b""
            return os.read(fd, limit)
        finally:
            os.close(fd)

    def makedirs(self, path: str, mode: int = 0o755) -> None:
        """``mkdir -p`` inside the root (a name in the way that is no directory fails)."""
        try:
            os.close(self.open(path, os.O_PATH | os.O_DIRECTORY))
            return
        except FileNotFoundError:
            pass
        self.makedirs(dirname(relative_path(path)), mode)
        with self.parent(path) as (fd, name), contextlib.suppress(FileExistsError):
            os.mkdir(name, mode, dir_fd=fd)


def relative_path(path: str) -> str:
    """A container path made absolute and clean ("/" for the root)."""
    return clean("/" + path)


def is_root(path: str) -> bool:
    return relative_to_root(path) == "."


def open_process_root(pid: int, started: int | None, what: str) -> Root:
    """The root of the running process ``pid`` (a container's init), if it is still the
    process that started at ``started``: checked after the open, so a reused pid can
    never hand us another process's root."""
    try:
        fd = os.open(f"/proc/{pid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as err:
        raise NotFound(f"{what}: its process {pid} is gone") from err
    if started is not None and process.start_time(pid) != started:
        os.close(fd)
        raise NotFound(f"{what}: its process {pid} is gone")
    return Root(fd, what)


def _fsconfig(fs_fd: int, key: str, value: str) -> None:
    if len(os.fsencode(value)) > _FSCONFIG_MAX:
        raise InvalidParameter(f'overlay {key} "{value}": longer than {_FSCONFIG_MAX} bytes')
    _check(_libc.syscall(ctypes.c_long(_SYS_FSCONFIG), ctypes.c_int(fs_fd),
                         ctypes.c_uint(_FSCONFIG_SET_STRING), key.encode(),
                         os.fsencode(value), ctypes.c_int(0)),
           f"fsconfig overlay {key}={value}")


def mount_view(lower: Sequence[str], upper: str | None = None, work: str | None = None,
               what: str = "container", *, one_by_one: bool = True) -> Root:
    """A detached overlay mount of ``lower`` (topmost first) as a :class:`Root`:
    read-only without ``upper``/``work`` (then at least two lowers), writable with them.

    Layers are given one by one (``lowerdir+``, Linux 6.8), so no path is parsed for
    ``:`` or ``,`` and no value outgrows fsconfig's 256 bytes. An older kernel refuses
    that key, either at once (6.5-6.7) or only when the mount is created (before 6.5,
    where overlayfs reads its options as one string then): on EINVAL the whole mount is
    made again with the layers in one ``lowerdir`` value as descriptors of ours
    (``/proc/self/fd/N``: short, nothing to escape), held open until the mount exists.
    ``one_by_one=False`` asks for that way directly (tests)."""
    if not lower or (upper is None and len(lower) < 2):
        raise InvalidParameter(f"{what}: an overlay view needs two layers, or an upper "
                               "directory")
    try:
        if one_by_one:
            try:
                return Root(_mount_overlay("lowerdir+", lower, upper, work), what)
            except OSError as err:
                if err.errno != errno.EINVAL:
                    raise
        fds: list[int] = []
        try:
            for layer in lower:
                fds.append(os.open(layer, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC))
            joined = ":".join(f"/proc/self/fd/{fd}" for fd in fds)
            return Root(_mount_overlay("lowerdir", [joined], upper, work), what)
        finally:
            for fd in fds:
                os.close(fd)
    except OSError as err:
        raise KernelError(f"{what}: cannot mount its filesystem view "
                          f"({', '.join(lower)}): {err.strerror}") from err


def _mount_overlay(key: str, lowers: Sequence[str], upper: str | None,
                   work: str | None) -> int:
    """fsopen, fsconfig, create, fsmount: the detached mount's descriptor. Each of
    ``lowers`` is given as ``key``: ``lowerdir+`` once per layer, or one ``lowerdir``."""
    fs_fd = _check(_libc.syscall(ctypes.c_long(_SYS_FSOPEN), b"overlay",
                                 ctypes.c_uint(_FSOPEN_CLOEXEC)), "fsopen overlay")
    try:
        for value in lowers:
            _fsconfig(fs_fd, key, value)
        if upper is not None and work is not None:
            _fsconfig(fs_fd, "upperdir", upper)
            _fsconfig(fs_fd, "workdir", work)
        _check(_libc.syscall(ctypes.c_long(_SYS_FSCONFIG), ctypes.c_int(fs_fd),
                             ctypes.c_uint(_FSCONFIG_CMD_CREATE), None, None, ctypes.c_int(0)),
               "fsconfig create")
        attrs = _MOUNT_ATTR_NOSUID | _MOUNT_ATTR_NODEV | _MOUNT_ATTR_NOEXEC
        if upper is None:
            attrs |= _MOUNT_ATTR_RDONLY
        return _check(_libc.syscall(ctypes.c_long(_SYS_FSMOUNT), ctypes.c_int(fs_fd),
                                    ctypes.c_uint(_FSMOUNT_CLOEXEC), ctypes.c_uint(attrs)),
                      "fsmount")
    finally:
        os.close(fs_fd)
