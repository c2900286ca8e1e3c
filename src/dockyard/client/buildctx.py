"""The client's half of ``build``: the context directory as the tar the daemon unpacks,
and the daemon's progress stream read back.

As the docker CLI does, the context leaves out what its ``.dockerignore`` excludes (the
Dockerfile and the .dockerignore themselves always go), so that a large ignored tree is
never read or sent. Files are added as they are: owners, modes and times kept; a symlink
stays a link.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Mapping
from typing import Any, BinaryIO

from dockyard.build.ignore import IgnoreMatcher, read_dockerignore
from dockyard.client import jsonlite
from dockyard.client.http import Client

Print = Callable[[str], object]


class BuildFailed(Exception):
    """The daemon's ``errorDetail`` message: what failed, as docker prints it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def context_tar(directory: str, dockerfile: str = "Dockerfile") -> BinaryIO:
    """A temporary file holding the context's tar, positioned at its start."""
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"unable to prepare context: path {directory!r} not found")
    try:
        with open(os.path.join(directory, ".dockerignore"), encoding="utf-8") as handle:
            patterns = read_dockerignore(handle.read())
    except FileNotFoundError:
        patterns = []
    ignore = IgnoreMatcher(patterns)
    always = {dockerfile.removeprefix("./"), ".dockerignore"}
    out = tempfile.TemporaryFile()  # noqa: SIM115 - the caller closes it
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for relative in _walk(directory, ignore, always):
            info = tar.gettarinfo(os.path.join(directory, relative), arcname=relative)
            info.uname = info.gname = ""
            if info.isfile():
                with open(os.path.join(directory, relative), "rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    out.seek(0)
    return out


def _walk(directory: str, ignore: IgnoreMatcher, always: set[str]) -> Iterable[str]:
    stack = [""]
    while stack:
        prefix = stack.pop()
        with os.scandir(os.path.join(directory, prefix)) as entries:
            names = sorted(entries, key=lambda e: e.name)
        for entry in names:
            relative = f"{prefix}/{entry.name}" if prefix else entry.name
            is_dir = entry.is_dir(follow_symlinks=False)
            if relative not in always and ignore.excluded(relative):
                if is_dir and ignore.may_include_below(relative):
                    stack.append(relative)  # a "!" pattern may take something below back
                continue
            yield relative
            if is_dir:
                stack.append(relative)


def build(client: Client, directory: str, *, tags: Iterable[str] = (),
          dockerfile: str = "Dockerfile", build_args: Mapping[str, str | None] | None = None,
          labels: Mapping[str, str] | None = None, target: str = "", no_cache: bool = False,
          quiet: bool = False, network: str = "", extra_hosts: Iterable[str] = (),
          remove: bool = True, force_remove: bool = False, show: Print | None = None,
          on_context: Callable[[int], object] | None = None) -> str:
    """Send the context, show the daemon's progress with ``show``; the new image's id.
    ``on_context`` is told the context's size before it is sent.
    BuildFailed when a step fails (``APIError`` when the daemon refuses the request)."""
    query: dict[str, Any] = {
        "t": list(tags) or None, "dockerfile": dockerfile,
        "buildargs": jsonlite.dumps(dict(build_args)) if build_args else None,
        "labels": jsonlite.dumps(dict(labels)) if labels else None,
        "target": target or None, "nocache": "1" if no_cache else None,
        "q": "1" if quiet else None, "networkmode": network or None,
        "extrahosts": ",".join(extra_hosts) or None, "rm": "1" if remove else "0",
        "forcerm": "1" if force_remove else None,
    }
    with context_tar(directory, dockerfile) as body:
        if on_context is not None:
            on_context(body.seek(0, 2))
            body.seek(0)
        response = client.request("POST", "/build", query=query, body=body,
                                  headers={"Content-Type": "application/x-tar"}, stream=True)
        image = ""
        for line in response.lines():
            doc = jsonlite.loads(line)
            if doc.get("errorDetail") or doc.get("error"):
                raise BuildFailed((doc.get("errorDetail") or {}).get("message")
                                  or doc.get("error") or "build failed")
            image = (doc.get("aux") or {}).get("ID") or image
            if show is not None and doc.get("stream") and not quiet:
                show(doc["stream"])
    return image
