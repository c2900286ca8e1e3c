"""A container's files for ``docker cp``, ``docker export`` and ``docker diff``.

Which filesystem each request sees, and why:

- ``cp`` of a **running** container reads and writes the container's own mounted view,
  its init's root (``/proc/PID/root``): what its processes see, volumes, bind mounts and
  the sandbox's ``/etc/hosts`` included, as dockerd's cp reads through them. Only the
  descriptor comes from the magic link; every path below it is resolved by
  ``openat2(RESOLVE_IN_ROOT)`` (``kernel/rootfs.py``), since the magic link itself would
  restart an absolute symlink from the *daemon's* root, i.e. the host.
- ``cp`` of a **stopped** container reads a read-only overlay of its upper directory over
  its image's layers (and the shared mount-point layer), mounted detached for the one
  request; a path inside a volume or bind mount is read from the mount's source instead
  (confined to it), so that ``docker cp`` still reaches the data there. A copy *into* a
  stopped container mounts its upper directory writable, under the container's lock so
  that a start cannot mount it at the same time. Its sandbox files (``/etc/hosts``, …)
  are gone with its sandbox: it shows the layer's empty ones.
- ``export`` is always the container's own filesystem, without volumes or anything
  mounted at run time (as ``docker export``): the read-only overlay view, whatever the
  container's state; a running container's upper directory is only read.
- ``diff`` walks the upper directory against the layers (``runtime/fschanges.py``).

dockerd names the container as the client gave it in its messages ("Could not find the
file /x in container web"), so the reference given is passed along, not the id.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from dockyard.archivepath import (
    archive_base,
    asserts_directory,
    base,
    clean,
    container_path,
    dirname,
    inside,
    path_stat,
    preserve_trailing,
)
from dockyard.errors import InvalidParameter, NotFound
from dockyard.kernel.fstar import ExtractOptions, extract_archive, write_archive
from dockyard.kernel.rootfs import Root, mount_view, open_process_root, path_error
from dockyard.runtime import mountpoints
from dockyard.runtime.container import RUNNING, Container, MountPoint
from dockyard.runtime.fschanges import container_changes
from dockyard.runtime.users import resolve_user

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.manager import ContainerManager

Writer = Callable[[IO[bytes]], int]


@dataclass
class Archive:
    """A resource about to be archived: its stat (the response header) and the writer
    that produces the tar (it closes the view when done, or :meth:`close` if never run)."""

    stat: dict[str, Any]
    container: Container
    _root: Root
    _path: str
    _top: str

    def write(self, out: IO[bytes]) -> int:
        try:
            return write_archive(self._root, self._path, self._top, out)
        finally:
            self._root.close()

    def close(self) -> None:
        self._root.close()


def not_found(path: str, ref: str) -> NotFound:
    return NotFound(f"Could not find the file {path} in container {ref}")


def check_path(path: str | None) -> str:
    if not path:
        raise InvalidParameter("bad parameter: path cannot be empty")
    if "\0" in path:
        raise InvalidParameter(f"invalid path {path!r}: NUL byte")
    return path


def mount_at(mounts: Sequence[MountPoint], path: str) -> tuple[MountPoint, str] | None:
    """The volume or bind mount holding the clean container ``path`` (the deepest one)
    and the path below its target; None when the path is in the container's own
    filesystem (tmpfs mounts hold nothing while the container is stopped)."""
    best: tuple[MountPoint, str] | None = None
    for mount in mounts:
        target = clean(mount.target)
        if mount.type == "tmpfs" or not inside(target, path):
            continue
        if best is None or len(target) > len(clean(best[0].target)):
            best = (mount, "/" + path[len(target):].lstrip("/"))
    return best


class ContainerFiles:
    """The file operations, over a :class:`ContainerManager` (blocking calls)."""

    def __init__(self, manager: ContainerManager) -> None:
        self.manager = manager

    # -------------------------------------------------------------------- views

    def _layers(self, c: Container) -> list[str]:
        """The layers under the container's upper directory, topmost first, as its
        overlay stacks them (without the init's own mount point, which only a running
        container with an init shows)."""
        layers = self.manager.images.layer_dirs(c.image_id)
        if mountpoints.fits(layers):
            return [mountpoints.mount_point_layer(self.manager.images.root), *layers]
        return layers

    def _own_view(self, c: Container) -> Root:
        upper = os.path.join(self.manager.container_dir(c.id), "upper")
        return mount_view([upper, *self._layers(c)], what=f"container {c.id[:12]}")

    def _running_root(self, c: Container) -> Root | None:
        if c.state.status != RUNNING or not c.state.pid:
            return None
        try:
            return open_process_root(c.state.pid, c.state.pid_start, f"container {c.id[:12]}")
        except NotFound:
            return None  # it stopped a moment ago: read it as a stopped one

    def _read_root(self, c: Container, path: str) -> tuple[Root, str]:
        """The root to read ``path`` from, and the path in it (see the module doc)."""
        running = self._running_root(c)
        if running is not None:
            return running, path
        view = self._own_view(c)
        try:
            located = mount_at(c.mounts, _resolved_parent(view, path))
            if located is None:
                return view, path
            volume, below = _mount_root(*located)
        except BaseException:
            view.close()
            raise
        view.close()
        return volume, preserve_trailing(below, path)

    # ------------------------------------------------------------------- reading

    def _stat(self, root: Root, path: str, ref: str) -> tuple[os.stat_result, dict[str, Any]]:
        """lstat of ``path`` (links on the way followed inside the root, the last one
        not, unless a trailing "/" says it must be a directory), with its path stat."""
        try:
            st = root.stat(path) if asserts_directory(path) else root.lstat(path)
        except OSError as err:
            error = path_error(err, path, "stat")
            raise not_found(path, ref) if isinstance(error, NotFound) else error from err
        if asserts_directory(path) and not stat.S_ISDIR(st.st_mode):
            raise InvalidParameter(f"lstat {path}: not a directory")
        target = root.resolve(path) if stat.S_ISLNK(st.st_mode) else ""
        return st, path_stat(base(path), st.st_mode, st.st_size, st.st_mtime_ns, target)

    def stat(self, ref: str, path: str) -> dict[str, Any]:
        """``HEAD /containers/{id}/archive``: the path stat of ``path``."""
        check_path(path)
        c = self.manager.get(ref)
        root, inner = self._read_root(c, container_path(path))
        with root:
            doc = self._stat(root, inner, ref)[1]
        # The name is the one asked about, not the one inside a volume's source.
        return {**doc, "name": base(path)}

    def archive(self, ref: str, path: str) -> Archive:
        """``GET /containers/{id}/archive``: the stat, and the tar to come."""
        check_path(path)
        c = self.manager.get(ref)
        wanted = container_path(path)
        root, inner = self._read_root(c, wanted)
        try:
            doc = self._stat(root, inner, ref)[1]
        except BaseException:
            root.close()
            raise
        return Archive({**doc, "name": base(wanted)}, c, root, inner, archive_base(wanted))

    def export(self, ref: str) -> tuple[Container, Root]:
        """``GET /containers/{id}/export``: the view to archive whole."""
        c = self.manager.get(ref)
        return c, self._own_view(c)

    def changes(self, ref: str) -> tuple[Container, list[tuple[str, int]]]:
        """``GET /containers/{id}/changes``: (path, kind) in dockerd's order."""
        c = self.manager.get(ref)
        upper = os.path.join(self.manager.container_dir(c.id), "upper")
        return c, container_changes(upper, self._layers(c))

    # ------------------------------------------------------------------- writing

    def extract(self, ref: str, path: str, stream: IO[bytes], *,
                no_overwrite_dir_non_dir: bool = False, copy_uid_gid: bool = False
                ) -> Container:
        """``PUT /containers/{id}/archive``: unpack ``stream`` into the directory
        ``path``. A running container is written live; a stopped one through its upper
        directory, holding its lock so that it cannot start meanwhile."""
        check_path(path)
        c = self.manager.get(ref)
        wanted = container_path(path)
        running = self._running_root(c)
        if running is not None:
            with running:
                self._extract_into(c, running, wanted, ref, stream, no_overwrite_dir_non_dir,
                                   copy_uid_gid, live=True)
            return c
        with self.manager.lock(c.id):
            c = self.manager.get(c.id)
            running = self._running_root(c)  # started while we waited for the lock
            if running is None:
                directory = self.manager.container_dir(c.id)
                running = mount_view(self._layers(c), os.path.join(directory, "upper"),
                                     os.path.join(directory, "work"),
                                     what=f"container {c.id[:12]}")
            with running:
                self._extract_into(c, running, wanted, ref, stream, no_overwrite_dir_non_dir,
                                   copy_uid_gid, live=c.state.status == RUNNING)
        return c

    def _extract_into(self, c: Container, root: Root, path: str, ref: str, stream: IO[bytes],
                      no_overwrite: bool, copy_uid_gid: bool, *, live: bool) -> None:
        owner = self._owner(c, root) if copy_uid_gid else None
        options = ExtractOptions(no_overwrite_dir_non_dir=no_overwrite, owner=owner)
        resolved = root.resolve(path)
        located = mount_at(c.mounts, resolved)
        if located is not None and located[0].read_only:
            raise InvalidParameter("mounted volume is marked read-only")
        try:
            if located is None or live:
                extract_archive(root, path, stream, options)
                return
            # A stopped container's volume is not mounted in its view: write the source.
            volume, below = _mount_root(*located)
            with volume:
                extract_archive(volume, below, stream, options)
        except NotFound:
            raise not_found(path, ref) from None

    def _owner(self, c: Container, root: Root) -> tuple[int, int] | None:
        """``cp -a``: with a container user, every file goes to that user and its group
        (dockerd's copyUIDGID); without one, the archive's owners stay."""
        if not c.user:
            return None
        passwd = root.read_file("/etc/passwd").decode(errors="replace")
        group = root.read_file("/etc/group").decode(errors="replace")
        user = resolve_user(c.user, passwd, group)
        return user.uid, user.gid


def _mount_root(mount: MountPoint, below: str) -> tuple[Root, str]:
    """The source of a volume or bind mount as a root, and ``below`` in it. A file bind
    mount has its directory for root (only the file is reachable by name: ``below`` is
    "/" for it, anything deeper is not found as nothing can be below a file)."""
    what = f"{mount.type} {mount.name or mount.source}"
    try:
        fd = os.open(mount.source, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except NotADirectoryError:
        fd = os.open(os.path.dirname(mount.source) or "/",
                     os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        name = os.path.basename(mount.source)
        return Root(fd, what), f"/{name}" if below == "/" else f"/{name}/{below.lstrip('/')}"
    except OSError as err:
        raise path_error(err, mount.source, "open") from err
    return Root(fd, what), below


def _resolved_parent(root: Root, path: str) -> str:
    """``path`` with the links on the way to it followed inside ``root``, not its last
    name (that of a trailing "/" or "/." excepted, which must be followed)."""
    if asserts_directory(path) or clean(path) == "/":
        return root.resolve(path)
    return clean(root.resolve(dirname(path)) + "/" + base(path))
