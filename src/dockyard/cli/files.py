"""``cp``, ``export`` and ``diff``, docker's way.

``cp`` decides on the client side, as the docker CLI does, where a copy lands: the daemon
only archives a path and extracts an archive into a directory. From the path stats on
both sides (a ``HEAD`` for the container's) it picks the directory to extract into and
the name the archive's top entry must take: into an existing directory, the copy keeps
its name; over an existing file, or at a path that does not exist yet, it takes the
destination's name; a directory never lands on a file, and ``dir/`` or ``dir/.`` must be
a directory. ``SRC/.`` copies a directory's content rather than the directory.

A local extraction goes through the same descriptor-confined extractor the daemon uses
(``kernel/fstar.py``): an archive from a container cannot write outside the destination,
whatever names or links it carries.
"""

import sys

from dockyard.archivepath import (
    GoTarSink,
    archive_base,
    asserts_directory,
    base,
    clean,
    decode_stat_header,
    dirname,
    is_dir_mode,
    is_symlink_mode,
    preserve_trailing,
    rebase_for_link,
    split_dir_entry,
)
from dockyard.cli.context import Context, daemon_error, parse_or_usage, write_atomically
from dockyard.cli.flags import Flag
from dockyard.cli.output import human_size
from dockyard.client.http import APIError, quote
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any, BinaryIO

    from dockyard.client.http import Client

CP_USAGE = ("dockyard cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
            "\tdockyard cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH")
CP_SUMMARY = """Copy files/folders between a container and the local filesystem

Use '-' as the source to read a tar archive from stdin
and extract it to a directory destination in a container.
Use '-' as the destination to stream a tar archive of a
container source to stdout."""
CP_FLAGS = [
    Flag(("-a", "--archive"), "archive", "bool",
         help="Archive mode (copy all uid/gid information)"),
    Flag(("-L", "--follow-link"), "follow", "bool", help="Always follow symbol link in SRC_PATH"),
    Flag(("-q", "--quiet"), "quiet", "optbool",
         help="Suppress progress output during copy. Progress output is automatically "
              "suppressed if no terminal is attached"),
]
STAT_HEADER = "x-docker-container-path-stat"


class CopyError(Exception):
    """A copy refused on the client side; printed as docker prints it."""


def split_cp_arg(arg: str) -> tuple[str, str]:
    """(container, path): ``web:/etc`` names a container, ``/a:b`` and ``./a:b`` do not
    (a local path with a colon is written with a slash)."""
    if arg.startswith("/"):
        return "", arg
    container, sep, path = arg.partition(":")
    if not sep or container.startswith("."):
        return "", arg
    return container, path


def local_path(path: str) -> str:
    """Absolute, cleaned, with its trailing ``/`` or ``/.`` kept (they mean something)."""
    import os

    return preserve_trailing(clean(os.path.abspath(path)), path)


def cp(ctx: Context, args: list[str]) -> int:
    opts, rest = parse_or_usage("cp", CP_USAGE, CP_SUMMARY, CP_FLAGS, args, (2, 2))
    source, destination = rest
    if not source:
        print("source can not be empty", file=sys.stderr)
        return 1
    if not destination:
        print("destination can not be empty", file=sys.stderr)
        return 1
    quiet = opts["quiet"] if opts["quiet"] is not None else not sys.stdout.isatty()
    src_container, src_path = split_cp_arg(source)
    dst_container, dst_path = split_cp_arg(destination)
    try:
        if src_container and dst_container:
            raise CopyError("copying between containers is not supported")
        if src_container:
            return _from_container(ctx.client(), src_container, src_path, dst_path,
                                   follow=opts["follow"], quiet=quiet)
        if dst_container:
            return _to_container(ctx.client(), dst_container, src_path, dst_path,
                                 follow=opts["follow"], quiet=quiet,
                                 copy_uid_gid=opts["archive"])
        raise CopyError("must specify at least one container source")
    except APIError as err:
        return daemon_error(err)
    except (CopyError, DockyardError, OSError) as err:
        print(_os_message(err), file=sys.stderr)
        return 1


def _os_message(err: Exception) -> str:
    if isinstance(err, OSError) and err.strerror:
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror.lower()}"
    return str(err)


def _stat(client: "Client", container: str, path: str) -> "dict[str, Any]":
    response = client.request("HEAD", f"/containers/{quote(container)}/archive",
                              query={"path": path})
    return decode_stat_header(response.headers.get(STAT_HEADER, ""))


# ------------------------------------------------------------------ from a container


def _check_output_path(path: str) -> None:
    """docker's ``ValidateOutputPath``: the parent must exist, and what is there must be
    a directory or a regular file."""
    import os
    import stat

    parent = dirname(clean(path))
    if parent not in ("", ".") and not os.path.exists(parent):
        raise CopyError(f'invalid output path: directory "{parent}" does not exist')
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        raise CopyError(f'invalid output path: "{path}" must be a directory or a regular file')


class _ChunkReader:
    """The response body as a file (for tarfile), counting the bytes read."""

    def __init__(self, chunks: "Iterator[bytes]") -> None:
        self._chunks = chunks
        self._buffer = b""
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buffer) < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if n < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:n], self._buffer[n:]
        self.count += len(data)
        return data


def _from_container(client: "Client", container: str, src: str, dst: str, *, follow: bool,
                    quiet: bool) -> int:
    if dst != "-":
        dst = local_path(dst)
        _check_output_path(dst)
    rebase = ""
    if follow:
        try:
            doc = _stat(client, container, src)
        except APIError:
            doc = {}
        if is_symlink_mode(int(doc.get("mode", 0))):
            target = str(doc.get("linkTarget", ""))
            if not target.startswith("/"):
                target = clean(split_dir_entry(src)[0] + "/" + target)
            src, rebase = rebase_for_link(src, target)
    response = client.request("GET", f"/containers/{quote(container)}/archive",
                              query={"path": src}, stream=True)
    if dst == "-":
        out = sys.stdout.buffer
        for chunk in response.chunks():
            out.write(chunk)
        return 0
    src_stat = decode_stat_header(response.headers.get(STAT_HEADER, ""))
    reader = _ChunkReader(response.chunks())
    _copy_to_local(reader, src, is_dir_mode(int(src_stat.get("mode", 0))), rebase, dst)
    reader.read()  # the rest of the end-of-archive marker: docker counts every byte
    if not quiet:
        print(f"Successfully copied {human_size(reader.count)} to {dst}", file=sys.stderr)
    return 0


def _local_destination(path: str) -> tuple[str, bool, bool]:
    """moby's ``CopyInfoDestinationPath``: (path, exists, is a directory), the links at
    the end followed (a copy onto a link lands where it points)."""
    import os
    import stat

    for _ in range(11):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            parent = split_dir_entry(path)[0]
            if not os.path.exists(parent):
                raise CopyError(f"stat {parent}: no such file or directory") from None
            if not os.path.isdir(parent):
                raise CopyError("not a directory") from None
            return path, False, False
        if not stat.S_ISLNK(st.st_mode):
            return path, True, stat.S_ISDIR(st.st_mode)
        target = os.readlink(path)
        path = target if target.startswith("/") else clean(
            split_dir_entry(path)[0] + "/" + target)
    raise CopyError(f"too many symlinks in {path}")


def plan_copy(src_is_dir: bool, dst: str, dst_exists: bool, dst_is_dir: bool
              ) -> tuple[str, str | None]:
    """moby's ``PrepareArchiveCopy``: (the directory to extract into, the name the
    archive's top entry must take there, None to keep its own)."""
    dst_dir, dst_base = split_dir_entry(dst)
    if dst_exists and dst_is_dir:
        return dst, None
    if dst_exists and src_is_dir:
        raise CopyError("cannot copy directory")
    if not dst_exists and not src_is_dir and asserts_directory(dst):
        raise CopyError("no such directory")
    return dst_dir, dst_base


def _copy_to_local(reader: "Any", src: str, src_is_dir: bool, rebase: str, dst: str) -> None:
    """Extract the daemon's archive of ``src`` (entries named by its base name) at
    ``dst``; ``rebase``: the name of the link ``-L`` followed, which the copy takes."""
    import os

    from dockyard.kernel.fstar import ExtractOptions, extract_archive
    from dockyard.kernel.rootfs import Root

    dst, exists, is_dir = _local_destination(dst)
    into, name = plan_copy(src_is_dir, dst, exists, is_dir)
    name = name or rebase or None
    renamed = (archive_base(src), name) if name else None
    root = Root(os.open(into, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC), into)
    with root:
        extract_archive(root, "/", reader, ExtractOptions(
            no_overwrite_dir_non_dir=True, chown=False, rebase=renamed))


# -------------------------------------------------------------------- to a container


def _local_source(path: str, follow: bool) -> tuple[str, str, bool]:
    """moby's ``CopyInfoSourcePath``: (resolved path, name to archive it under, is a
    directory). Links before the last name are followed; the last one only with ``-L``
    (then the copy is named as the link)."""
    import os
    import stat

    if follow:
        resolved, rebase = rebase_for_link(path, os.path.realpath(path))
    else:
        head, tail = path.rsplit("/", 1) if "/" in path else (".", path)
        resolved = os.path.realpath(head or "/").rstrip("/") + "/" + tail
        rebase = base(path) if path.endswith("/") and base(path) != base(resolved) else ""
    try:
        st = os.lstat(resolved)
    except FileNotFoundError:
        raise CopyError(f"lstat {resolved.rstrip('/') or '/'}: no such file or directory"
                        ) from None
    return resolved, rebase or archive_base(resolved), stat.S_ISDIR(st.st_mode)


def _local_archive(path: str, top: str, buffer: "BinaryIO") -> None:
    """A tar of the local ``path`` with its entries under ``top`` (links kept as links,
    sockets left out), as docker's ``TarResource`` makes it, written to ``buffer``."""
    import os
    import tarfile

    sink = GoTarSink(buffer)
    tar = tarfile.TarFile(fileobj=sink, mode="w",  # type: ignore[arg-type]
                          format=tarfile.PAX_FORMAT)
    if specifies_dir_content(path):
        # "dir/.": the directory as ".", then its content as "./name".
        tar.add(path, arcname=top, recursive=False)
        for name in sorted(os.listdir(path)):
            tar.add(os.path.join(path, name), arcname=f"{top}/{name}")
    else:
        tar.add(path, arcname=top)
    sink.close_archive(tar)


def specifies_dir_content(path: str) -> bool:
    return base(path) == "."


def _to_container(client: "Client", container: str, src: str, dst: str, *, follow: bool,
                  quiet: bool, copy_uid_gid: bool) -> int:
    dst_path, dst_exists, dst_is_dir = dst, False, False
    try:
        doc = _stat(client, container, dst)
        if is_symlink_mode(int(doc.get("mode", 0))):
            target = str(doc.get("linkTarget", ""))
            dst_path = target if target.startswith("/") else clean(
                split_dir_entry(dst)[0] + "/" + target)
            doc = _stat(client, container, dst_path)
        mode = int(doc.get("mode", 0))
        if mode & ((1 << 26) | (1 << 19)):  # a device, or an irregular file
            kind = "a device" if mode & (1 << 26) else "an irregular file"
            raise CopyError(f'destination "{container}:{dst}" must be a directory or a '
                            f"regular file: got {kind}")
        dst_exists, dst_is_dir = True, is_dir_mode(mode)
    except APIError:
        pass  # the parent may still exist: the daemon says if not
    import tempfile

    # The archive is spooled to a file, not held in memory: a tree may be larger than
    # memory, and the request states its length before the body.
    with tempfile.TemporaryFile() as body:
        if src == "-":
            if not dst_is_dir:
                raise CopyError(f'destination "{container}:{dst}" must be a directory')
            import shutil

            shutil.copyfileobj(sys.stdin.buffer, body, 1 << 20)
            into, sent = dst_path, 0
        else:
            resolved, top, src_is_dir = _local_source(local_path(src), follow)
            into, name = plan_copy(src_is_dir, dst_path, dst_exists, dst_is_dir)
            _local_archive(resolved, name or top, body)
            sent = body.tell()
        body.seek(0)
        client.request("PUT", f"/containers/{quote(container)}/archive",
                       query={"path": into, "noOverwriteDirNonDir": "true",
                              "copyUIDGID": "true" if copy_uid_gid else None},
                       body=body, headers={"Content-Type": "application/x-tar"})
    if not quiet:
        print(f"Successfully copied {human_size(sent)} to {container}:{dst_path}",
              file=sys.stderr)
    return 0


# ------------------------------------------------------------------- export, diff


def export(ctx: Context, args: list[str], cmd: str = "export") -> int:
    opts, rest = parse_or_usage(
        cmd, f"dockyard {cmd} [OPTIONS] CONTAINER",
        "Export a container's filesystem as a tar archive",
        [Flag(("-o", "--output"), "output", help="Write to a file, instead of STDOUT")],
        args, (1, 1))
    output = opts["output"]
    if not output and sys.stdout.isatty():
        print("cowardly refusing to save to a terminal. Use the -o flag or redirect",
              file=sys.stderr)
        return 1
    if output:
        try:
            _check_output_path(local_path(output))
        except CopyError as err:
            print(f"failed to export container: {err}", file=sys.stderr)
            return 1
    try:
        response = ctx.client().request("GET", f"/containers/{quote(rest[0])}/export",
                                        stream=True)
    except APIError as err:
        return daemon_error(err)
    if not output:
        out = sys.stdout.buffer
        for chunk in response.chunks():
            out.write(chunk)
        return 0
    return write_atomically(output, response.chunks())


def diff(ctx: Context, args: list[str], cmd: str = "diff") -> int:
    _, rest = parse_or_usage(cmd, f"dockyard {cmd} CONTAINER",
                             "Inspect changes to files or directories on a container's "
                             "filesystem", [], args, (1, 1))
    try:
        changes = ctx.client().get(f"/containers/{quote(rest[0])}/changes") or []
    except APIError as err:
        return daemon_error(err)
    letters = {0: "C", 1: "A", 2: "D"}
    sys.stdout.write("".join(f"{letters.get(c['Kind'], '?')} {c['Path']}\n" for c in changes))
    return 0

