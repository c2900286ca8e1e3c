"""The build context: the tar a client sends, unpacked, and the sources COPY names in it.

The tar is unpacked by the same confined extractor ``docker cp`` uses
(:func:`dockyard.kernel.fstar.extract_archive`), so a member cannot climb out of the
context directory. Sources are matched inside it: ``*``, ``?`` and ``[...]`` within one
name, as Go's ``filepath.Match``; what ``.dockerignore`` excludes is not there for COPY
(the docker CLI leaves it out of the tar already; other clients may not).
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import tarfile

from dockyard.archivepath import clean
from dockyard.build.ignore import IgnoreMatcher, read_dockerignore
from dockyard.errors import InvalidParameter
from dockyard.images.layers import decompressed
from dockyard.kernel.fstar import ExtractOptions, extract_archive
from dockyard.kernel.rootfs import Root

_MAGIC = re.compile(r"[*?\[]")


def unpack_context(path: str, directory: str) -> None:
    """Unpack the (plain or compressed) context tar at ``path`` into the existing
    ``directory``. A body that is no archive is a Dockerfile alone (``docker build - <
    Dockerfile``), as dockerd takes it."""
    if not tarfile.is_tarfile(path):
        shutil.copyfile(path, os.path.join(directory, "Dockerfile"))
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    with Root(fd, "build context") as root, open(path, "rb") as stream:
        extract_archive(root, "/", decompressed(stream), ExtractOptions(chown=False))


class Context:
    """An unpacked context directory and its ``.dockerignore``."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        try:
            with open(os.path.join(directory, ".dockerignore"), encoding="utf-8") as handle:
                patterns = read_dockerignore(handle.read())
        except FileNotFoundError:
            patterns = []
        self.ignore = IgnoreMatcher(patterns)

    def root(self) -> Root:
        fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        return Root(fd, "build context")

    def read_dockerfile(self, name: str) -> str:
        path = clean("/" + name).lstrip("/")
        with self.root() as root:
            try:
                fd = root.open("/" + path, os.O_RDONLY)
            except FileNotFoundError:
                raise InvalidParameter(
                    f"Cannot locate specified Dockerfile: {name}") from None
        with os.fdopen(fd, "rb") as handle:
            return handle.read().decode("utf-8", errors="replace")

    def sources(self, pattern: str) -> list[str]:
        """The context paths (relative, "" for the root) a COPY source names."""
        wanted = clean("/" + pattern).lstrip("/")
        if not _MAGIC.search(wanted):
            if wanted and self.ignore.excluded(wanted):
                return []
            if not os.path.lexists(os.path.join(self.directory, wanted)):
                return []
            return [wanted]
        found = [""]
        for part in wanted.split("/"):
            found = [_join(prefix, name) for prefix in found
                     for name in self._names(prefix) if fnmatch.fnmatchcase(name, part)]
        return sorted(p for p in found if not self.ignore.excluded(p))

    def _names(self, prefix: str) -> list[str]:
        path = os.path.join(self.directory, prefix)
        if os.path.islink(path) or not os.path.isdir(path):
            return []
        return sorted(os.listdir(path))


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name
