"""Tar archives out of and into a container's root (:class:`~dockyard.kernel.rootfs.Root`).

Reading walks directories by descriptor: each name is opened relative to its parent's
descriptor with ``O_NOFOLLOW``, so a link is archived as a link and never followed, and a
name swapped for a link mid-walk fails instead of leading elsewhere. Files are opened
``O_NONBLOCK`` and checked to be the regular file that was listed (a FIFO put in its
place must not hang the daemon). Entries are named as dockerd names them
(:func:`~dockyard.archivepath.member_name`), hard links within the archive are
written once and linked after, sockets are left out, and no walk enters /proc or /sys.

Writing resolves each member's directory with ``openat2(RESOLVE_IN_ROOT)`` and creates the
last name relative to it without following it: the archive's own ``..`` names are refused
as moby refuses them, and links already in the container resolve inside it, as when
dockerd extracts from inside the container's chroot.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from dockyard.archivepath import (
    GoTarSink,
    asserts_directory,
    clean,
    dirname,
    inside,
    member_name,
    rebase_name,
)
from dockyard.errors import Conflict, InvalidParameter
from dockyard.kernel.rootfs import Root, is_pseudo_filesystem, path_error

_CAPABILITY = "security.capability"
_XATTR_PREFIX = "SCHILY.xattr."
_CHUNK = 1 << 16
_DIR_READ = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class _Exactly(io.RawIOBase):
    """A file's first ``size`` bytes, zero-padded should it shrink while it is read: the
    archive must carry exactly what its header announced."""

    def __init__(self, fd: int, size: int) -> None:
        super().__init__()
        self._fd = fd
        self._left = size

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        want = self._left if n < 0 else min(n, self._left)
        parts: list[bytes] = []
        got = 0
        while got < want:
            data = os.read(self._fd, min(want - got, _CHUNK))
            if not data:
                parts.append(b"\0" * (want - got))
                break
            parts.append(data)
            got += len(data)
        self._left -= want
        return b"".join(parts)


@dataclass
class _Writer:
    tar: tarfile.TarFile
    top: str  # archive_base of the resource; "" for an export
    links: dict[tuple[int, int], str] = field(default_factory=dict)
    size: int = 0  # bytes of regular-file content written

    def entry(self, dir_fd: int, name: str, relative: str, st: os.stat_result) -> None:
        """One member for ``name`` in ``dir_fd`` (not followed), unless it is a socket."""
        mode = st.st_mode
        info = tarfile.TarInfo(member_name(self.top, relative, stat.S_ISDIR(mode)))
        info.mode = stat.S_IMODE(mode)
        info.uid, info.gid = st.st_uid, st.st_gid
        info.mtime = int(st.st_mtime)
        info.uname = info.gname = ""
        if stat.S_ISREG(mode):
            self._regular(dir_fd, name, info, st)
        elif stat.S_ISDIR(mode):
            info.type = tarfile.DIRTYPE
            self.tar.addfile(info)
        elif stat.S_ISLNK(mode):
            info.type = tarfile.SYMTYPE
            info.linkname = os.readlink(name, dir_fd=dir_fd)
            self.tar.addfile(info)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            info.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
            self.tar.addfile(info)
        elif stat.S_ISFIFO(mode):
            info.type = tarfile.FIFOTYPE
            self.tar.addfile(info)
        # A socket cannot be archived (moby skips them too).

    def _regular(self, dir_fd: int, name: str, info: tarfile.TarInfo,
                 st: os.stat_result) -> None:
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in self.links:
            info.type = tarfile.LNKTYPE
            info.linkname = self.links[key]
            self.tar.addfile(info)
            return
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=dir_fd)
        except (FileNotFoundError, OSError) as err:
            if err.errno in (errno.ENOENT, errno.ELOOP):
                return  # gone, or swapped for a link, since it was listed
            raise
        try:
            now = os.fstat(fd)
            if not stat.S_ISREG(now.st_mode) or now.st_ino != st.st_ino:
                return
            with contextlib.suppress(OSError):
                info.pax_headers = {_XATTR_PREFIX + _CAPABILITY: os.getxattr(
                    fd, _CAPABILITY).decode("utf-8", "surrogateescape")}
            info.size = now.st_size
            self.tar.addfile(info, _Exactly(fd, now.st_size))
            self.size += now.st_size
        finally:
            os.close(fd)
        if st.st_nlink > 1:
            self.links[key] = info.name

    def tree(self, dir_fd: int, relative: str, device: int) -> None:
        """Everything below the open directory ``dir_fd``, depth first in name order (as
        Go's walk), without entering another filesystem that is the kernel's."""
        stack: list[tuple[int, str, int, Iterator[os.DirEntry[str]]]] = []
        stack.append((dir_fd, relative, device, _sorted_entries(dir_fd)))
        try:
            while stack:
                fd, rel, dev, entries = stack[-1]
                entry = next(entries, None)
                if entry is None:
                    stack.pop()
                    if fd != dir_fd:
                        os.close(fd)
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                child_rel = f"{rel}/{entry.name}" if rel else entry.name
                self.entry(fd, entry.name, child_rel, st)
                if stat.S_ISDIR(st.st_mode):
                    child = _open_dir(fd, entry.name)
                    if child is None:
                        continue
                    child_dev = os.fstat(child).st_dev
                    if child_dev != dev and is_pseudo_filesystem(child):
                        os.close(child)
                        continue
                    stack.append((child, child_rel, child_dev, _sorted_entries(child)))
        finally:
            for fd, *_ in stack:
                if fd != dir_fd:
                    os.close(fd)


def _sorted_entries(dir_fd: int) -> Iterator[os.DirEntry[str]]:
    with os.scandir(dir_fd) as it:
        entries = sorted(it, key=lambda e: os.fsencode(e.name))
    return iter(entries)


def _open_dir(dir_fd: int, name: str) -> int | None:
    try:
        return os.open(name, _DIR_READ, dir_fd=dir_fd)
    except OSError as err:
        if err.errno in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR):
            return None
        raise


def write_archive(root: Root, path: str, top: str, out: IO[bytes]) -> int:
    """A tar of ``path`` (a cleaned container path; ``/.`` and ``/`` endings as given)
    into ``out``: the resource itself as ``top``, then, for a directory, all it holds.
    With ``top`` "" (an export) the root's entry is left out and names are relative.
    Returns the bytes of file content archived."""
    sink = GoTarSink(out)
    # (typeshed's _Fileobj wants read and seek too, which writing never calls)
    tar = tarfile.TarFile(fileobj=sink, mode="w",  # type: ignore[arg-type]
                          format=tarfile.PAX_FORMAT)
    writer = _Writer(tar, top)
    try:
        if asserts_directory(path) or clean(path) == "/":
            # "dir/." and "dir/": the directory, the link to it followed (as Go's lstat of
            # such a path follows it).
            fd = root.open(path, os.O_RDONLY | os.O_DIRECTORY)
            try:
                st = os.fstat(fd)
                if top:
                    tar.addfile(_dir_info(top, st))
                writer.tree(fd, "", st.st_dev)
            finally:
                os.close(fd)
        else:
            with root.parent(path) as (parent_fd, name):
                st = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
                writer.entry(parent_fd, name, "", st)
                if stat.S_ISDIR(st.st_mode):
                    fd = os.open(name, _DIR_READ, dir_fd=parent_fd)
                    try:
                        writer.tree(fd, "", os.fstat(fd).st_dev)
                    finally:
                        os.close(fd)
    except OSError as err:
        raise path_error(err, path, "archive") from err
    sink.close_archive(tar)
    return writer.size


def _dir_info(top: str, st: os.stat_result) -> tarfile.TarInfo:
    info = tarfile.TarInfo(member_name(top, "", True))
    info.type = tarfile.DIRTYPE
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid, info.mtime = st.st_uid, st.st_gid, int(st.st_mtime)
    return info


# ------------------------------------------------------------------------- extraction


@dataclass(frozen=True)
class ExtractOptions:
    no_overwrite_dir_non_dir: bool = False
    owner: tuple[int, int] | None = None  # every member's uid/gid; None: the archive's
    # False: files stay owned by whoever extracts (the CLI's local side, as docker's)
    chown: bool = True
    # (old, new): entry names renamed as moby's RebaseArchiveEntries does (docker cp)
    rebase: tuple[str, str] | None = None


@dataclass
class _Extractor:
    root: Root
    dest: str  # resolved container path of the directory extracted into
    options: ExtractOptions
    tar: tarfile.TarFile
    dirs: list[tuple[str, tarfile.TarInfo]] = field(default_factory=list)

    def target(self, member: tarfile.TarInfo) -> str | None:
        """The member's container path, None for the destination itself ("."); an
        archive name climbing out of the destination is refused, as moby does."""
        if "\0" in member.name or "\0" in member.linkname:  # a PAX header can carry one
            raise InvalidParameter(f"invalid tar member {member.name!r}: a NUL in its name "
                                   "or link target")
        name = clean(member.name)
        if name == ".." or name.startswith("../"):
            raise InvalidParameter(f'invalid tar member "{member.name}": it is outside '
                                   f'of "{self.dest}"')
        name = name.lstrip("/")
        if name in ("", "."):
            return None
        return clean(f"{self.dest}/{name}")

    def member(self, member: tarfile.TarInfo) -> None:
        if self.options.rebase is not None:
            old, new = self.options.rebase
            member.name = rebase_name(member.name, old, new)
            if member.islnk():
                member.linkname = rebase_name(member.linkname, old, new)
        path = self.target(member)
        if path is None:
            return
        self.root.makedirs(dirname(path))
        with self.root.parent(path) as (fd, name):
            existing = _lstat(fd, name)
            if existing is not None and not self._replace(fd, name, path, existing, member):
                self._attributes(fd, name, member)
                self.dirs.append((path, member))
                return
            self._create(fd, name, path, member)

    def _replace(self, fd: int, name: str, path: str, existing: os.stat_result,
                 member: tarfile.TarInfo) -> bool:
        """Clear the way for ``member`` where ``existing`` is; False when it stays (a
        directory over a directory: the two merge)."""
        was_dir = stat.S_ISDIR(existing.st_mode)
        if self.options.no_overwrite_dir_non_dir:
            if was_dir and not member.isdir():
                raise Conflict(f'cannot overwrite directory "{path}" with non-directory '
                               f'"{member.name}"')
            if not was_dir and member.isdir():
                raise Conflict(f'cannot overwrite non-directory "{path}" with directory '
                               f'"{member.name}"')
        if was_dir and member.isdir():
            return False
        if was_dir:
            _remove_tree(fd, name)
        else:
            os.unlink(name, dir_fd=fd)
        return True

    def _create(self, fd: int, name: str, path: str, member: tarfile.TarInfo) -> None:
        if member.isdir():
            os.mkdir(name, 0o700, dir_fd=fd)
            self.dirs.append((path, member))
        elif member.isreg():
            self._file(fd, name, member)
        elif member.issym():
            self._check_link(path, member.linkname, symbolic=True)
            os.symlink(member.linkname, name, dir_fd=fd)
        elif member.islnk():
            self._hard_link(fd, name, path, member)
            return  # the target's own header set its owner, mode and times
        elif (member.ischr() or member.isblk()) and os.geteuid() != 0:
            return  # only root can make device nodes; the rest of the copy goes on
        elif member.ischr() or member.isblk() or member.isfifo():
            kind = (stat.S_IFCHR if member.ischr() else
                    stat.S_IFBLK if member.isblk() else stat.S_IFIFO)
            os.mknod(name, kind | 0o600, os.makedev(member.devmajor, member.devminor),
                     dir_fd=fd)
        else:
            return  # GNU sparse and such are read as files by tarfile; others are skipped
        self._attributes(fd, name, member)

    def _file(self, fd: int, name: str, member: tarfile.TarInfo) -> None:
        out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                      | os.O_CLOEXEC, 0o600, dir_fd=fd)
        try:
            source = self.tar.extractfile(member)
            if source is not None:
                with os.fdopen(os.dup(out), "wb") as sink:
                    shutil.copyfileobj(source, sink, _CHUNK)
            capability = member.pax_headers.get(_XATTR_PREFIX + _CAPABILITY)
            if capability is not None:
                with contextlib.suppress(OSError):
                    os.setxattr(out, _CAPABILITY,
                                capability.encode("utf-8", "surrogateescape"))
        finally:
            os.close(out)

    def _check_link(self, path: str, target: str, *, symbolic: bool) -> None:
        """moby's breakout check: a relative symlink, or a hard link, may not point out of
        the destination by its name (an absolute symlink is the container's business)."""
        if symbolic and target.startswith("/"):
            return
        resolved = clean(f"{dirname(path)}/{target}" if symbolic else
                         f"{self.dest}/{target.lstrip('/')}")
        if not inside(self.dest, resolved):
            kind = "symlink" if symbolic else "hardlink"
            raise InvalidParameter(f'invalid {kind} "{path}" -> "{target}": it points out '
                                   f'of "{self.dest}"')

    def _hard_link(self, fd: int, name: str, path: str, member: tarfile.TarInfo) -> None:
        self._check_link(path, member.linkname, symbolic=False)
        source = clean(f"{self.dest}/{member.linkname.lstrip('/')}")
        with self.root.parent(source) as (source_fd, source_name):
            os.link(source_name, name, src_dir_fd=source_fd, dst_dir_fd=fd,
                    follow_symlinks=False)

    def _attributes(self, fd: int, name: str, member: tarfile.TarInfo) -> None:
        """Owner, mode and (but for directories, done last) times, never through a
        link: a link's own owner and times are set, its mode is not (Linux has none)."""
        if self.options.chown:
            uid, gid = self.options.owner or (member.uid, member.gid)
            os.chown(name, uid, gid, dir_fd=fd, follow_symlinks=False)
        if member.issym():
            os.utime(name, (member.mtime, member.mtime), dir_fd=fd, follow_symlinks=False)
            return
        node = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        try:
            # chmod through the descriptor's /proc link: fchmodat cannot refuse to follow
            # a link, and O_PATH descriptors refuse fchmod.
            os.chmod(f"/proc/self/fd/{node}", stat.S_IMODE(member.mode))
        finally:
            os.close(node)
        if not member.isdir():
            os.utime(name, (member.mtime, member.mtime), dir_fd=fd, follow_symlinks=False)

    def finish(self) -> None:
        """Directory times last: filling a directory changes its mtime."""
        for path, member in reversed(self.dirs):
            with contextlib.suppress(OSError), self.root.parent(path) as (fd, name):
                os.utime(name, (member.mtime, member.mtime), dir_fd=fd,
                         follow_symlinks=False)


def _lstat(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _remove_tree(dir_fd: int, name: str) -> None:
    """``rm -rf`` of ``name`` in ``dir_fd``, by descriptor: no link is followed."""
    fd = os.open(name, _DIR_READ, dir_fd=dir_fd)
    try:
        for entry in list(os.scandir(fd)):
            if entry.is_dir(follow_symlinks=False):
                _remove_tree(fd, entry.name)
            else:
                os.unlink(entry.name, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=dir_fd)


def extract_archive(root: Root, dest: str, stream: IO[bytes],
                    options: ExtractOptions = ExtractOptions()) -> None:
    """Unpack the (uncompressed) tar ``stream`` into the directory ``dest`` of ``root``.
    ``dest`` is resolved first, its own last link included, so that one can extract
    "into" a link to a directory. NotFound when it is missing, InvalidParameter when it
    is no directory or the archive is bad."""
    resolved = root.resolve(dest)
    try:
        st = root.stat(resolved)
    except OSError as err:
        raise path_error(err, dest, "extract into") from err
    if not stat.S_ISDIR(st.st_mode):
        raise InvalidParameter("extraction point is not a directory")
    try:
        with tarfile.open(fileobj=stream, mode="r|", errorlevel=2) as tar:
            extractor = _Extractor(root, resolved, options, tar)
            for member in tar:
                try:
                    extractor.member(member)
                except OSError as err:
                    raise path_error(err, extractor.target(member) or dest, "extract") from err
            extractor.finish()
    except (tarfile.TarError, EOFError) as err:
        raise InvalidParameter(f"invalid tar archive: {err}") from err

