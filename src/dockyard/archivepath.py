"""What ``docker cp`` exchanges with the daemon, as pure functions: container paths the way
Docker cleans them, the path-stat document of ``X-Docker-Container-Path-Stat``, the names
archive entries get, and symlink resolution scoped to a container's root.

The docker CLI decides where a copy lands from these (it rebases entry names by the base
name it computes itself), so they follow Go's ``path/filepath`` and moby's archive package
exactly, trailing ``/`` and ``/.`` included.
"""

from __future__ import annotations

import stat

from dockyard.errors import InvalidParameter

# The CLI's cp imports this module for the path rules alone: json, base64 and datetime are
# imported where they are used (each command's start-up cost counts, see cli/main.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import timezone
    from typing import Any

# Go's os.FileMode type bits (io/fs): what the path stat's "mode" carries above the
# permission bits.
MODE_DIR = 1 << 31
MODE_SYMLINK = 1 << 27
MODE_DEVICE = 1 << 26
MODE_NAMED_PIPE = 1 << 25
MODE_SOCKET = 1 << 24
MODE_SETUID = 1 << 23
MODE_SETGID = 1 << 22
MODE_CHAR_DEVICE = 1 << 21
MODE_STICKY = 1 << 20
MODE_IRREGULAR = 1 << 19

MAX_LINKS = 255  # moby/sys/symlink's bound on links followed in one resolution

_TYPE_BITS = {
    stat.S_IFDIR: MODE_DIR,
    stat.S_IFLNK: MODE_SYMLINK,
    stat.S_IFBLK: MODE_DEVICE,
    stat.S_IFCHR: MODE_DEVICE | MODE_CHAR_DEVICE,
    stat.S_IFIFO: MODE_NAMED_PIPE,
    stat.S_IFSOCK: MODE_SOCKET,
    stat.S_IFREG: 0,
}


def go_file_mode(st_mode: int) -> int:
    """A stat ``st_mode`` as Go's ``os.FileMode`` (what dockerd's JSON carries)."""
    mode = st_mode & 0o777 | _TYPE_BITS.get(stat.S_IFMT(st_mode), MODE_IRREGULAR)
    if st_mode & stat.S_ISUID:
        mode |= MODE_SETUID
    if st_mode & stat.S_ISGID:
        mode |= MODE_SETGID
    if st_mode & stat.S_ISVTX:
        mode |= MODE_STICKY
    return mode


def go_time(mtime_ns: int, tz: timezone | None = None) -> str:
    """Go's RFC 3339 with nanoseconds (``time.Time`` in JSON): the fraction without its
    trailing zeros, ``Z`` for UTC, else the offset. ``tz`` defaults to the local zone, as
    a Go daemon prints file times."""
    from datetime import UTC, datetime, timedelta

    seconds, nanos = divmod(mtime_ns, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, UTC)
    moment = moment.astimezone(tz) if tz is not None else moment.astimezone()
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    offset = moment.utcoffset() or timedelta(0)
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def path_stat(name: str, st_mode: int, size: int, mtime_ns: int, link_target: str = "",
              tz: timezone | None = None) -> dict[str, Any]:
    """dockerd's ``container.PathStat``, field for field and in its order."""
    return {"name": name, "size": size, "mode": go_file_mode(st_mode),
            "mtime": go_time(mtime_ns, tz), "linkTarget": link_target}


def encode_stat_header(doc: dict[str, Any]) -> str:
    """The ``X-Docker-Container-Path-Stat`` value: base64 of the compact JSON."""
    import base64
    import json

    return base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()


def decode_stat_header(value: str) -> dict[str, Any]:
    import base64
    import json

    try:
        doc = json.loads(base64.b64decode(value))
    except ValueError as err:
        raise InvalidParameter(f"invalid X-Docker-Container-Path-Stat header: {err}") from None
    if not isinstance(doc, dict):
        raise InvalidParameter("invalid X-Docker-Container-Path-Stat header: not an object")
    return doc


def is_dir_mode(go_mode: int) -> bool:
    return bool(go_mode & MODE_DIR)


def is_symlink_mode(go_mode: int) -> bool:
    return bool(go_mode & MODE_SYMLINK)


# ------------------------------------------------------------------ Go's path rules


def clean(path: str) -> str:
    """Go's ``filepath.Clean``: one slash between names, no ``.``, ``..`` resolved
    lexically (and dropped at the root), "." for nothing."""
    if not path:
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append(part)
            continue
        parts.append(part)
    joined = "/".join(parts)
    if rooted:
        return "/" + joined
    return joined or "."


def base(path: str) -> str:
    """Go's ``filepath.Base``: the last name, trailing slashes ignored; "/" for the root."""
    if not path:
        return "."
    stripped = path.rstrip("/")
    if not stripped:
        return "/"
    return stripped.rsplit("/", 1)[-1]


def dirname(path: str) -> str:
    """Go's ``filepath.Dir``."""
    head = path[: path.rfind("/") + 1]
    return clean(head) if head else "."


def specifies_current_dir(path: str) -> bool:
    return base(path) == "."


def asserts_directory(path: str) -> bool:
    """A trailing ``/`` or ``/.`` says the path must be a directory."""
    return path.endswith("/") or specifies_current_dir(path)


def preserve_trailing(cleaned: str, original: str) -> str:
    """moby's ``PreserveTrailingDotOrSeparator``: put back the ``/.`` or ``/`` that
    cleaning took off ``original``."""
    if not specifies_current_dir(cleaned) and specifies_current_dir(original):
        if not cleaned.endswith("/"):
            cleaned += "/"
        cleaned += "."
    if not cleaned.endswith("/") and original.endswith("/"):
        cleaned += "/"
    return cleaned


def container_path(path: str) -> str:
    """A requested path as dockerd reads it: relative paths are taken from the root
    (``docker cp web:etc/hostname`` is ``/etc/hostname``); ``..`` cannot climb above it."""
    return preserve_trailing(clean("/" + path), path)


def split_dir_entry(path: str) -> tuple[str, str]:
    """moby's ``SplitPathDirEntry``: (directory, entry), a trailing ``/.`` kept as the
    entry ``.``."""
    cleaned = clean(path)
    if specifies_current_dir(path):
        cleaned += "/."
    return dirname(cleaned), base(cleaned)


def archive_base(path: str) -> str:
    """The first path element of every entry in dockerd's archive of ``path`` (already a
    :func:`container_path`): the base name, ``.`` for ``dir/.``, ``/`` for the root. The
    docker CLI rebases the entries by this same name."""
    return split_dir_entry(path)[1]


def member_name(top: str, relative: str, is_dir: bool) -> str:
    """An archive entry's name: ``top`` (from :func:`archive_base`; "" for an export,
    whose entries are relative to the root and which has no entry for the root itself)
    joined to the entry's path below it; directories end in "/", as Go's tar writes them."""
    if not top:
        name = relative
    elif not relative:
        name = top
    elif top == "/":
        name = "/" + relative
    else:
        name = top + "/" + relative
    if is_dir and not name.endswith("/"):
        name += "/"
    return name


def follow_in_scope(path: str, readlink: Callable[[str], str | None]) -> str:
    """``path`` (absolute in the container) with every symlink on it resolved inside the
    container's root, the last one too, as moby's ``FollowSymlinkInScope`` does: absolute
    link targets restart from the root, ``..`` stops at it, and a missing name is kept as
    it is. ``readlink(p)`` returns the target of the link at ``p`` (a path whose parents
    are already resolved), or None when ``p`` is not a link or does not exist."""
    rest = clean(path)
    resolved: list[str] = []
    hops = 0
    while rest:
        head, _, rest = rest.partition("/")
        if head in ("", "."):
            continue
        if head == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = "/" + "/".join([*resolved, head])
        target = readlink(candidate)
        if target is None:
            resolved.append(head)
            continue
        hops += 1
        if hops > MAX_LINKS:
            raise InvalidParameter(f"too many links in {path}")
        if target.startswith("/"):
            resolved = []
        rest = target + ("/" + rest if rest else "")
    return "/" + "/".join(resolved)


def relative_to_root(path: str) -> str:
    """A container path as a path below the root directory ("." for the root)."""
    return clean("/" + path).lstrip("/") or "."


def rebase_name(name: str, old: str, new: str) -> str:
    """moby's ``RebaseArchiveEntries`` on one entry name: the first ``old`` becomes
    ``new`` (an ``old`` of "/" stands for the root: ``new`` is put in front)."""
    if old == "/":
        old = ""
    return name.replace(old, new, 1)


def rebase_for_link(path: str, resolved: str) -> tuple[str, str]:
    """moby's ``GetRebaseName``: ``resolved`` (a link's target) with the trailing ``/``
    or ``/.`` of ``path`` put back, and the name entries must be renamed to ("" if
    none): a copy of a link is named as the link, not as its target."""
    if specifies_current_dir(path) and not specifies_current_dir(resolved):
        resolved += "/."
    if path.endswith("/") and not resolved.endswith("/"):
        resolved += "/"
    return resolved, base(path) if base(path) != base(resolved) else ""


class GoTarSink:
    """Where a tar is written so that it ends as Go's writer ends one (dockerd's, the
    docker CLI's): right after the two zero blocks, without tarfile's padding to a 10 kB
    record. Sizes then agree with docker's ("Successfully copied 2.05kB" for a small
    file), and no client reads 8 kB of zeros for nothing. Give it to ``tarfile.open(
    fileobj=…, mode="w")`` and :meth:`close_archive` the archive instead of closing it."""

    def __init__(self, out: Any) -> None:
        self._out = out
        self._offset = 0
        self._done = False

    def write(self, data: bytes) -> int:
        if not self._done:
            self._out.write(data)
            self._offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self._offset

    def close_archive(self, archive: Any) -> None:
        self.write(b"\0" * 1024)  # the end-of-archive marker, as Go's Close writes it
        self._done = True
        archive.close()  # its own marker and padding now go nowhere


def inside(directory: str, path: str) -> bool:
    """Whether the clean absolute ``path`` is ``directory`` or below it (lexically)."""
    return directory == "/" or path == directory or path.startswith(directory + "/")
