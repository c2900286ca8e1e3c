"""Layer tar streams → extracted directories usable as overlayfs lower layers.

A layer's diff-id is the sha256 of its *uncompressed* tar stream, every byte of it
(the end-of-archive blocks included), computed while the stream is extracted so the
data is read once. Layer whiteouts (``.wh.NAME``, ``.wh..wh..opq``) become overlayfs
whiteouts (a 0:0 character device, the ``trusted.overlay.opaque`` xattr) so that the
extracted directories can be stacked as lowerdirs as they are.

Tar members are user input: a member that would land outside the layer (``../``, or a
path through a symlink pointing out) is refused, and an existing file is unlinked
before it is replaced so a symlink planted by an earlier member is never followed.
"""

from __future__ import annotations

import bz2
import copy
import gzip
import hashlib
import io
import lzma
import os
import posixpath
import shutil
import stat
import tarfile
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, cast

from dockyard.errors import InvalidParameter

WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"
_XATTR_PREFIX = "SCHILY.xattr."
# Members are checked here before extraction; tarfile's own filters (Python 3.11.4+, not in
# Debian 12's 3.11.2) are told so, where they exist, so that no default filter applies.
TRUSTED_EXTRACTION: dict[str, Any] = (
    {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {})

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)


@dataclass(frozen=True)
class LayerInfo:
    diff_id: str  # "sha256:<hex>" of the uncompressed tar
    size: int  # bytes of regular-file content


class _HashingReader(io.RawIOBase):
    """Passes bytes through while hashing and counting them."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__()
        self._raw = raw
        self.sha = hashlib.sha256()
        self.total = 0
        self.data_end = 0  # one past the last non-zero byte seen

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._raw.read(len(view))
        view[: len(data)] = data
        self.sha.update(data)
        stripped = len(data.rstrip(b"\0"))
        if stripped:
            self.data_end = self.total + stripped
        self.total += len(data)
        return len(data)


def compression_of(head: bytes) -> str | None:
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def decompressed(stream: IO[bytes]) -> IO[bytes]:
    """The uncompressed view of a tar stream that may be gzip, bzip2 or xz compressed."""
    buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(
        cast(Any, _Passthrough(stream)))
    kind = compression_of(buffered.peek(6)[:6])
    if kind == "gzip":
        return cast(IO[bytes], gzip.GzipFile(fileobj=buffered, mode="rb"))
    if kind == "bzip2":
        return cast(IO[bytes], bz2.BZ2File(buffered, mode="rb"))
    if kind == "xz":
        return cast(IO[bytes], lzma.LZMAFile(buffered, mode="rb"))
    if kind == "zstd":
        raise InvalidParameter("unsupported layer compression: zstd")
    return cast(IO[bytes], buffered)


class _Passthrough(io.RawIOBase):
    """Lets io.BufferedReader (for peek) wrap any object with read()."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__()
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._raw.read(len(view))
        view[: len(data)] = data
        return len(data)


def clean_member_name(name: str) -> str:
    """A member path relative to the layer root; "" is the root. Refuses escapes."""
    cleaned = posixpath.normpath(name.lstrip("/")) if name.strip("/") else "."
    if cleaned == ".." or cleaned.startswith("../"):
        raise InvalidParameter(f'invalid tar member "{name}": path escapes the layer')
    return "" if cleaned == "." else cleaned


def _ensure_inside(root_real: str, path: str, member: str) -> None:
    real = os.path.realpath(path)
    if real != root_real and not real.startswith(root_real + os.sep):
        raise InvalidParameter(
            f'invalid tar member "{member}": path goes through a link out of the layer')


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _set_xattrs(member: tarfile.TarInfo, path: str) -> None:
    for key, value in member.pax_headers.items():
        if key.startswith(_XATTR_PREFIX):
            os.setxattr(path, key[len(_XATTR_PREFIX):],
                        value.encode("utf-8", "surrogateescape"), follow_symlinks=False)


class _Extractor:
    def __init__(self, archive: tarfile.TarFile, dest: str) -> None:
        self.archive = archive
        self.dest = dest
        self.dest_real = os.path.realpath(dest)
        self.dirs: list[tuple[str, tarfile.TarInfo]] = []
        self.size = 0

    def member(self, member: tarfile.TarInfo) -> None:
        name = clean_member_name(member.name)
        if not name:
            if member.isdir():
                self.dirs.append((self.dest, member))
            return
        parent_rel, base = posixpath.split(name)
        parent = os.path.join(self.dest, parent_rel)
        _ensure_inside(self.dest_real, parent, member.name)
        os.makedirs(parent, mode=0o755, exist_ok=True)
        if base.startswith(WHITEOUT_PREFIX):
            self._whiteout(parent, base)
            return
        target = os.path.join(parent, base)
        if os.path.lexists(target) and not (
            member.isdir() and os.path.isdir(target) and not os.path.islink(target)
        ):
            _remove(target)
        changes: dict[str, Any] = {"name": name}
        if member.islnk():
            link = clean_member_name(member.linkname)
            source = os.path.join(self.dest, link)
            _ensure_inside(self.dest_real, os.path.dirname(source), member.name)
            if not link or not os.path.lexists(source):
                raise InvalidParameter(
                    f'invalid tar member "{member.name}": hard link to missing "{member.linkname}"')
            changes["linkname"] = link
        member = copy.copy(member)  # (TarInfo.replace is 3.11.4+)
        for field, value in changes.items():
            setattr(member, field, value)
        # A hard link shares its target's inode, whose owner and mode the target's own
        # header already set; a directory's attributes are set once it is filled.
        self.archive.extract(member, self.dest,
                             set_attrs=not (member.isdir() or member.islnk()),
                             numeric_owner=True, **TRUSTED_EXTRACTION)
        if member.isdir():
            self.dirs.append((target, member))
        elif not member.islnk():
            _set_xattrs(member, target)
        if member.isreg():
            self.size += member.size

    def _whiteout(self, parent: str, base: str) -> None:
        if base == OPAQUE_WHITEOUT:
            os.setxattr(parent, "trusted.overlay.opaque", b"y")
            return
        target = os.path.join(parent, base[len(WHITEOUT_PREFIX):])
        if os.path.lexists(target):
            _remove(target)
        os.mknod(target, stat.S_IFCHR | 0o600, os.makedev(0, 0))

    def finish(self) -> None:
        # Directory modes last and deepest first, so a read-only dir could still be filled.
        for path, member in sorted(self.dirs, key=lambda item: item[0], reverse=True):
            os.chown(path, member.uid, member.gid)
            os.chmod(path, member.mode)
            _set_xattrs(member, path)
            os.utime(path, (member.mtime, member.mtime))


def extract_layer(stream: IO[bytes] | BinaryIO, dest: str) -> LayerInfo:
    """Extract a (possibly compressed) layer tar into the existing empty directory ``dest``."""
    hashing = _HashingReader(decompressed(stream))
    reader = cast(IO[bytes], io.BufferedReader(hashing, buffer_size=1 << 16))
    try:
        with tarfile.open(fileobj=reader, mode="r|", errorlevel=2) as archive:
            extractor = _Extractor(archive, dest)
            for member in archive:
                extractor.member(member)
            extractor.finish()
            end = archive.offset
        while reader.read(1 << 20):
            pass
        # tarfile ends quietly at a header it cannot read; only zero padding may follow the
        # last member, anything else is a truncated or corrupt archive (Go's reader agrees).
        if hashing.data_end > end:
            raise InvalidParameter(
                f"invalid tar archive: unreadable data at offset {end} (truncated or corrupt)")
    except (tarfile.TarError, EOFError, lzma.LZMAError, gzip.BadGzipFile, OSError) as err:
        if isinstance(err, OSError) and not isinstance(err, gzip.BadGzipFile) and err.errno:
            raise
        raise InvalidParameter(f"invalid tar archive: {err}") from err
    return LayerInfo("sha256:" + hashing.sha.hexdigest(), extractor.size)
