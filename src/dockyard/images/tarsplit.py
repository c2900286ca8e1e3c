"""A layer's tar stream kept as its *layout*, so that ``docker save`` gives it back byte
for byte.

An image config names its layers by diff id, the sha256 of each uncompressed layer tar:
a saved archive must carry tars with exactly those digests, or no engine loads it and
the image loses its id. A tar rebuilt from the extracted directory would differ (header
fields, order, PAX records), so at extraction we keep what the directory cannot give
back: every byte that is not a regular file's content (headers, PAX records, padding,
the end-of-archive blocks) as is, and for each file's content only the path of the
extracted file that holds those bytes. This is Docker's tar-split idea; a layout is a
small fraction of its layer.

Layout file (gzip): ``DYTS1 <total length>\\n``, then records, ``R`` + u32 length + bytes
(raw tar bytes) or ``F`` + u64 size + u16 name length + name (a file's content).

A file's content is read back from the layer only when nothing later in the same tar
replaced or removed it (a duplicate entry, a whiteout, a parent turned into a file or
link); such content, and sparse files, are stored inline instead.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import posixpath
import stat
import struct
import tarfile
from collections.abc import Iterator
from typing import IO, Any, BinaryIO, cast

from dockyard.errors import Internal, InvalidParameter
from dockyard.images.layers import OPAQUE_WHITEOUT, WHITEOUT_PREFIX, clean_member_name

_MAGIC = b"DYTS1 "
_RAW = b"R"
_FILE = b"F"
_RAW_HEAD = struct.Struct(">I")
_FILE_HEAD = struct.Struct(">QH")
_CHUNK = 1 << 20
_MAX_RAW = 1 << 20  # raw records pass through memory whole; inline content is split


class TeeReader(io.RawIOBase):
    """Reads ``source`` and writes every byte read to ``sink`` (the layer spool)."""

    def __init__(self, source: IO[bytes], sink: IO[bytes]) -> None:
        super().__init__()
        self._source = source
        self._sink = sink

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._source.read(len(view))
        view[: len(data)] = data
        self._sink.write(data)
        return len(data)


def _ancestors(name: str) -> Iterator[str]:
    parent = posixpath.dirname(name)
    while parent:
        yield parent
        parent = posixpath.dirname(parent)


def _readable_from_layer(members: list[tarfile.TarInfo]) -> set[int]:
    """Indices of the regular members whose content the extracted layer still holds.

    Walks backwards, remembering the paths later members replace (any member at the
    same path, a whiteout's target) and those that cut a subtree off (a non-directory
    at a parent path, a whiteout)."""
    replaced: set[str] = set()
    cut: set[str] = set()
    kept: set[int] = set()
    for index in reversed(range(len(members))):
        member = members[index]
        name = clean_member_name(member.name)
        base = posixpath.basename(name)
        if base.startswith(WHITEOUT_PREFIX):
            if base != OPAQUE_WHITEOUT:  # an opaque marker removes nothing of this layer
                target = posixpath.join(posixpath.dirname(name), base[len(WHITEOUT_PREFIX):])
                replaced.add(target)
                cut.add(target)
            continue
        if (member.isreg() and not member.issparse() and member.size > 0 and name
                and name not in replaced and not any(a in cut for a in _ancestors(name))):
            kept.add(index)
        replaced.add(name)
        if not member.isdir():
            cut.add(name)
    return kept


def _same_size_file(rootfs: str, name: str, size: int) -> bool:
    try:
        info = os.lstat(os.path.join(rootfs, name))
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size == size


def write_layout(spool: IO[bytes], rootfs: str, dest: str) -> int:
    """Write the layout of the uncompressed layer tar in ``spool`` (already extracted
    into ``rootfs``) to ``dest``. Returns the tar's length."""
    spool.seek(0, os.SEEK_END)
    total = spool.tell()
    spool.seek(0)
    try:
        with tarfile.open(fileobj=spool, mode="r:") as archive:
            members = archive.getmembers()
    except tarfile.TarError as err:
        raise InvalidParameter(f"invalid tar archive: {err}") from err
    readable = _readable_from_layer(members)
    with gzip.open(dest, "wb", compresslevel=6) as out:
        out.write(_MAGIC + str(total).encode() + b"\n")
        position = 0
        for index in sorted(readable):
            member = members[index]
            name = clean_member_name(member.name)
            if not _same_size_file(rootfs, name, member.size):
                continue
            _copy_raw(spool, position, member.offset_data, out)
            encoded = name.encode("utf-8", "surrogateescape")
            out.write(_FILE + _FILE_HEAD.pack(member.size, len(encoded)) + encoded)
            position = member.offset_data + member.size
        _copy_raw(spool, position, total, out)
    return total


def _copy_raw(spool: IO[bytes], start: int, end: int, out: gzip.GzipFile) -> None:
    spool.seek(start)
    while start < end:
        data = spool.read(min(_MAX_RAW, end - start))
        if not data:
            raise InvalidParameter(f"invalid tar archive: truncated at offset {start}")
        out.write(_RAW + _RAW_HEAD.pack(len(data)) + data)
        start += len(data)


class LayerStream(io.RawIOBase):
    """The layer tar rebuilt from its layout and extracted directory, hashed as it is
    read: after the last byte, :meth:`diff_id` is the digest to compare with the
    config's."""

    def __init__(self, layout_path: str, rootfs: str) -> None:
        super().__init__()
        self._rootfs = os.path.realpath(rootfs)
        self._path = layout_path
        self._layout = cast(BinaryIO, gzip.open(layout_path, "rb"))  # noqa: SIM115 - see close()
        try:
            head = self._layout.readline(64)
        except (OSError, EOFError) as err:
            self._layout.close()
            raise Internal(f'layer layout "{layout_path}" is unreadable: {err}') from err
        if not head.startswith(_MAGIC) or not head[len(_MAGIC):].strip().isdigit():
            self._layout.close()
            raise Internal(f'layer layout "{layout_path}" is not a Dockyard tar layout')
        self.size = int(head[len(_MAGIC):])
        self._sha = hashlib.sha256()
        self._pending = b""
        self._pending_at = 0
        self._file: BinaryIO | None = None
        self._file_left = 0
        self._file_name = ""

    def readable(self) -> bool:
        return True

    def diff_id(self) -> str:
        return "sha256:" + self._sha.hexdigest()

    def readinto(self, buffer: Any) -> int:
        """Fills ``buffer`` unless the tar ends first: tarfile.addfile takes a short read
        for the end of its data."""
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            try:
                data = self._next(len(view) - filled)
            except (OSError, EOFError) as err:  # a damaged gzip stream, an unreadable file
                raise Internal(
                    f'layer layout "{self._path}" cannot be replayed: {err}') from err
            if not data:
                break
            view[filled:filled + len(data)] = data
            self._sha.update(data)
            filled += len(data)
        return filled

    def _next(self, limit: int) -> bytes:
        while True:
            if self._pending_at < len(self._pending):
                start = self._pending_at
                self._pending_at = min(len(self._pending), start + limit)
                return self._pending[start:self._pending_at]
            if self._file is not None:
                return self._from_file(limit)
            kind = self._layout.read(1)
            if not kind:
                return b""
            if kind == _RAW:
                (length,) = _RAW_HEAD.unpack(self._exact(_RAW_HEAD.size))
                self._pending, self._pending_at = self._exact(length), 0
            elif kind == _FILE:
                size, name_length = _FILE_HEAD.unpack(self._exact(_FILE_HEAD.size))
                name = self._exact(name_length).decode("utf-8", "surrogateescape")
                self._open_file(name, size)
            else:
                raise Internal(f"layer layout is corrupt: unknown record {kind!r}")

    def _exact(self, length: int) -> bytes:
        data = self._layout.read(length)
        if len(data) != length:
            raise Internal("layer layout is corrupt: it ends inside a record")
        return data

    def _open_file(self, name: str, size: int) -> None:
        path = os.path.join(self._rootfs, name)
        parent = os.path.realpath(os.path.dirname(path))
        if parent != self._rootfs and not parent.startswith(self._rootfs + os.sep):
            raise Internal(f'layer file "{name}" resolves outside its layer')
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as err:
            raise Internal(f'layer file "{name}" cannot be read back: {err.strerror}') from err
        self._file = cast(BinaryIO, os.fdopen(fd, "rb"))
        self._file_left = size
        self._file_name = name

    def _from_file(self, limit: int) -> bytes:
        assert self._file is not None
        data = self._file.read(min(limit, self._file_left, _CHUNK))
        if not data:
            raise Internal(f'layer file "{self._file_name}" is shorter than when it was '
                           "extracted")
        self._file_left -= len(data)
        if not self._file_left:
            self._file.close()
            self._file = None
        return data

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._layout.close()
        super().close()

