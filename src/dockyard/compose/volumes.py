"""``volumes:`` entries of a service, short and long syntax.

Short syntax ``[SOURCE:]TARGET[:MODE]``: a SOURCE starting with ``/``, ``.`` or ``~`` is a
bind mount (relative paths resolve against the project directory); any other SOURCE names a
top-level volume; no SOURCE at all (a lone path) is an anonymous volume. MODE is a comma
list of ``ro``/``rw``, ``z``/``Z``, ``nocopy`` and a propagation mode.
"""

from __future__ import annotations

import os.path
from collections.abc import Mapping
from typing import Any

from dockyard.compose.model import ServiceVolume

_PROPAGATION = ("shared", "rshared", "slave", "rslave", "private", "rprivate")


class VolumeSyntaxError(ValueError):
    pass


def is_host_path(source: str) -> bool:
    return source.startswith(("/", ".", "~"))


def resolve_host_path(source: str, base_dir: str, environ: Mapping[str, str]) -> str:
    """Absolute, normalised host path (``~`` from HOME in the given environment)."""
    if source == "~" or source.startswith("~/"):
        home = environ.get("HOME")
        if not home:
            raise VolumeSyntaxError(f"cannot expand {source!r}: HOME is not set")
        source = home + source[1:]
    return os.path.normpath(os.path.join(base_dir, source))


def parse_volume_short(spec: str, base_dir: str, environ: Mapping[str, str]) -> ServiceVolume:
    parts = spec.split(":")
    if len(parts) > 3 or not all(parts[:2]):
        raise VolumeSyntaxError("expected [SOURCE:]TARGET[:MODE]")
    if len(parts) == 1:
        target = parts[0]
        if not target.startswith("/"):
            raise VolumeSyntaxError("an anonymous volume needs an absolute container path")
        return ServiceVolume(type="volume", target=target)
    source, target = parts[0], parts[1]
    if not target.startswith("/"):
        raise VolumeSyntaxError(f"container path {target!r} is not absolute")
    read_only = False
    selinux = None
    propagation = None
    nocopy = False
    if len(parts) == 3:
        for option in parts[2].split(","):
            if option in ("ro", "rw"):
                read_only = option == "ro"
            elif option in ("z", "Z"):
                selinux = option
            elif option == "nocopy":
                nocopy = True
            elif option in _PROPAGATION:
                propagation = option
            else:
                raise VolumeSyntaxError(f"unknown mode {option!r}")
    if is_host_path(source):
        return ServiceVolume(type="bind", source=resolve_host_path(source, base_dir, environ),
                             target=target, read_only=read_only, create_host_path=True,
                             propagation=propagation, selinux=selinux)
    return ServiceVolume(type="volume", source=source, target=target, read_only=read_only,
                         nocopy=nocopy)


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("true", "1", "yes")
    return bool(value)


def parse_volume_long(
    value: dict[str, Any], base_dir: str, environ: Mapping[str, str]
) -> ServiceVolume:
    kind = value["type"]
    target = value.get("target")
    if not target:
        raise VolumeSyntaxError("long syntax needs target")
    source = value.get("source") or None
    bind = value.get("bind") or {}
    volume = value.get("volume") or {}
    tmpfs = value.get("tmpfs") or {}
    if kind == "bind":
        if not source:
            raise VolumeSyntaxError("a bind mount needs source")
        source = resolve_host_path(source, base_dir, environ)
    if kind == "tmpfs" and source:
        raise VolumeSyntaxError("a tmpfs mount takes no source")
    mode = tmpfs.get("mode")
    return ServiceVolume(
        type=kind,
        target=target,
        source=source,
        read_only=_flag(value.get("read_only", False)),
        consistency=value.get("consistency"),
        create_host_path=_flag(bind.get("create_host_path", False)),
        propagation=bind.get("propagation"),
        selinux=bind.get("selinux"),
        nocopy=_flag(volume.get("nocopy", False)),
        subpath=volume.get("subpath"),
        tmpfs_size=tmpfs.get("size"),
        tmpfs_mode=int(str(mode), 8) if isinstance(mode, str) else mode,
    )


def parse_volume(
    value: str | dict[str, Any], base_dir: str, environ: Mapping[str, str]
) -> ServiceVolume:
    if isinstance(value, dict):
        return parse_volume_long(value, base_dir, environ)
    return parse_volume_short(value, base_dir, environ)
