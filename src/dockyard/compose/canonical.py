"""One file's service definitions, rewritten into a single canonical form.

Every "list or map" key becomes a map, every short syntax becomes its long form (ports and
volumes become model values), and relative paths become absolute against the directory the
definition came from. Done per file, before merging, so that merging can be keyed (a later
file's ``environment: [A=2]`` replaces ``A`` instead of appending a duplicate) and so that
syntax errors still know which file they came from.
"""

from __future__ import annotations

import os.path
import shlex
from collections.abc import Mapping
from typing import Any

from dockyard.compose.errors import SyntaxFormError
from dockyard.compose.model import ServicePort, ServiceVolume
from dockyard.compose.ports import PortSyntaxError, parse_port
from dockyard.compose.volumes import VolumeSyntaxError, parse_volume

Path = tuple[str | int, ...]

_MAP_KEYS = ("environment", "labels", "annotations", "sysctls")
_STRING_LIST_KEYS = ("dns", "dns_search", "tmpfs")


def scalar_text(value: Any) -> str:
    """How compose turns a YAML scalar into a string value (``true``, ``1``, ``1.5``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def list_or_dict(value: Any, *, keep_none: bool) -> dict[str, str | None]:
    """``["A=1", "B"]`` or ``{A: 1, B: null}`` → ``{"A": "1", "B": None}``."""
    result: dict[str, str | None] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            result[str(key)] = None if item is None and keep_none else scalar_text(item)
        return result
    for entry in value or ():
        key, sep, item = str(entry).partition("=")
        result[key] = item if sep else (None if keep_none else "")
    return result


def split_command(value: Any) -> list[str] | None:
    """A string command is split the way a POSIX shell splits words, as compose does."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot split {value!r}: {exc}") from None
    return [str(part) for part in value]


def extra_host_entries(value: Any) -> list[str]:
    """``host:ip`` / ``host=ip`` lists and ``{host: ip | [ip, …]}`` maps → ``host=ip``."""
    entries: list[str] = []
    if isinstance(value, dict):
        for host, ips in value.items():
            for ip in ips if isinstance(ips, list) else [ips]:
                entries.append(f"{host}={ip}")
        return entries
    for entry in value or ():
        text = str(entry)
        host, sep, ip = text.partition("=")
        if not sep:
            host, sep, ip = text.partition(":")
        if not sep or not host or not ip:
            raise ValueError(f'invalid extra host "{text}": expected HOST=IP or HOST:IP')
        entries.append(f"{host}={ip.strip('[]')}")
    return entries


def _abs(path: str, base_dir: str) -> str:
    if "://" in path or path.startswith("git@"):
        return path
    return os.path.normpath(os.path.join(base_dir, os.path.expanduser(path)))


def canonical_service(
    raw: Mapping[str, Any],
    *,
    file: str,
    name: str,
    base_dir: str,
    environ: Mapping[str, str],
) -> dict[str, Any]:
    """The canonical form of one service (see module docstring)."""
    path: Path = ("services", name)
    out: dict[str, Any] = dict(raw)

    def fail(detail: str, *key: str | int) -> SyntaxFormError:
        return SyntaxFormError(detail, file=file, path=(*path, *key))

    for key in _MAP_KEYS:
        if key in out:
            out[key] = list_or_dict(out[key], keep_none=key == "environment")
    for key in _STRING_LIST_KEYS:
        if isinstance(out.get(key), str):
            out[key] = [out[key]]
    if "expose" in out:
        out["expose"] = [scalar_text(port) for port in out["expose"]]
    if "extra_hosts" in out:
        try:
            out["extra_hosts"] = extra_host_entries(out["extra_hosts"])
        except ValueError as exc:
            raise fail(str(exc), "extra_hosts") from None
    for key in ("command", "entrypoint"):
        if key in out:
            try:
                out[key] = split_command(out[key])
            except ValueError as exc:
                raise fail(str(exc), key) from None
    if "build" in out:
        build = out["build"]
        build = {"context": build} if isinstance(build, str) else dict(build)
        build["context"] = _abs(build.get("context") or ".", base_dir)
        if "args" in build:
            build["args"] = list_or_dict(build["args"], keep_none=True)
        out["build"] = build
    if isinstance(out.get("extends"), str):
        out["extends"] = {"service": out["extends"]}
    if "depends_on" in out:
        deps = out["depends_on"]
        if isinstance(deps, list):
            out["depends_on"] = {
                dep: {"condition": "service_started", "required": True} for dep in deps
            }
        else:
            out["depends_on"] = {
                dep: {"required": True, **(spec or {})} for dep, spec in deps.items()
            }
    if "networks" in out:
        nets = out["networks"]
        if isinstance(nets, list):
            out["networks"] = {net: None for net in nets}
        else:
            out["networks"] = dict(nets)
    if "env_file" in out:
        files = out["env_file"]
        items = [files] if isinstance(files, str) else files
        out["env_file"] = [
            {"path": _abs(item, base_dir), "required": True}
            if isinstance(item, str)
            else {**item, "path": _abs(item["path"], base_dir)}
            for item in items
        ]
    if "ports" in out:
        ports: list[ServicePort] = []
        for idx, entry in enumerate(out["ports"]):
            try:
                ports.extend(parse_port(entry))
            except PortSyntaxError as exc:
                shown = entry if isinstance(entry, str | int) else "long syntax"
                raise fail(f'invalid port "{shown}": {exc}', "ports", idx) from None
        out["ports"] = ports
    if "volumes" in out:
        mounts: list[ServiceVolume] = []
        for idx, entry in enumerate(out["volumes"]):
            try:
                mounts.append(parse_volume(entry, base_dir, environ))
            except VolumeSyntaxError as exc:
                shown = entry if isinstance(entry, str) else "long syntax"
                raise fail(f'invalid volume "{shown}": {exc}', "volumes", idx) from None
        out["volumes"] = mounts
    return out
