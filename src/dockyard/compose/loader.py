"""Load a compose project: find files → read env → per file: YAML, interpolate, validate,
canonicalise, resolve ``extends`` → merge files in order → profiles → model → checks.

The only I/O is reading the compose files and env files; the process environment is a
parameter (``environ``), so loading is reproducible in tests.
"""

from __future__ import annotations

import os
import os.path
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from dockyard.compose.canonical import canonical_service
from dockyard.compose.checks import check_services, drop_unavailable_dependencies
from dockyard.compose.dotenv import parse_dotenv
from dockyard.compose.errors import ComposeFileError, ExtendsError, ProjectError
from dockyard.compose.interpolation import Interpolator, interpolate_tree
from dockyard.compose.merge import merge_service, merge_top_level
from dockyard.compose.model import NetworkConfig, Project, Service, VolumeConfig
from dockyard.compose.normalize import (
    ReadText,
    build_network,
    build_service,
    build_volume,
    read_text_file,
)
from dockyard.compose.schema import validate_file
from dockyard.compose.yamlio import load_yaml

DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
VERSION_WARNING = (
    "the attribute `version` is obsolete, it will be ignored, please remove it to avoid "
    "potential confusion"
)
_VALID_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

StrPath = str | os.PathLike[str]


def find_compose_files(working_dir: StrPath) -> list[str]:
    """The first default file present in ``working_dir`` and its ``.override`` sibling
    (``compose.yaml`` → ``compose.override.yaml``), as compose picks them."""
    for candidate in DEFAULT_FILES:
        path = os.path.join(working_dir, candidate)
        if os.path.isfile(path):
            stem, ext = os.path.splitext(candidate)
            found = [path]
            for override_ext in dict.fromkeys((ext, ".yaml", ".yml")):
                override = os.path.join(working_dir, f"{stem}.override{override_ext}")
                if os.path.isfile(override):
                    found.append(override)
                    break
            return found
    names = ", ".join(DEFAULT_FILES)
    raise ComposeFileError(f"no configuration file provided: none of {names} found in "
                           f'"{working_dir}"')


def normalize_project_name(raw: str) -> str:
    """A directory name made into a project name: lowercase, only [a-z0-9_-], not starting
    with ``_`` or ``-``."""
    return re.sub(r"[^a-z0-9_-]", "", raw.lower()).lstrip("_-")


def validate_project_name(name: str, source: str) -> str:
    if not _VALID_NAME.match(name):
        raise ProjectError(
            f'invalid project name "{name}" (from {source}): must consist only of lowercase '
            "alphanumeric characters, hyphens, and underscores as well as start with a letter "
            "or number")
    return name


@dataclass
class _Context:
    project_dir: str
    environ: Mapping[str, str]
    interpolator: Interpolator
    read_text: ReadText
    warnings: list[str] = field(default_factory=list)
    cache: dict[str, dict[str, Any]] = field(default_factory=dict)

    def display(self, path: str) -> str:
        rel = os.path.relpath(path, self.project_dir)
        return path if rel.startswith("..") else rel

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)


def _read(ctx: _Context, path: str) -> str:
    try:
        return ctx.read_text(path)
    except FileNotFoundError:
        raise ComposeFileError(f'file "{path}" not found') from None
    except OSError as exc:
        raise ComposeFileError(f'cannot read "{path}": {exc.strerror}') from None


def _prepare_file(ctx: _Context, path: str, base_dir: str) -> dict[str, Any]:
    """One compose file, interpolated, validated and canonicalised (extends not yet
    resolved). Cached per path: ``extends: {file: …}`` may name a file twice."""
    cached = ctx.cache.get(path)
    if cached is not None:
        return cached
    shown = ctx.display(path)
    try:
        data = load_yaml(_read(ctx, path))
    except yaml.YAMLError as exc:
        raise ComposeFileError(f"invalid YAML: {exc}", file=shown) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ComposeFileError("top-level value must be a mapping", file=shown)
    data = dict(interpolate_tree(
        data, lambda text, key: ctx.interpolator.expand(text, file=shown, path=key)
    ))
    validate_file(data, shown)
    if "version" in data:
        ctx.warn(f"{shown}: {VERSION_WARNING}")
        del data["version"]
    services = {
        name: canonical_service(raw or {}, file=shown, name=name, base_dir=base_dir,
                                environ=ctx.environ)
        for name, raw in (data.get("services") or {}).items()
    }
    data["services"] = services
    ctx.cache[path] = data
    return data


def _resolve_extends(
    ctx: _Context,
    path: str,
    name: str,
    stack: tuple[tuple[str, str], ...] = (),
) -> dict[str, Any]:
    """Service ``name`` of file ``path`` with its ``extends`` chain merged in."""
    doc = ctx.cache[path]
    service = doc["services"][name]
    spec = service.get("extends")
    if spec is None:
        return dict(service)
    shown = ctx.display(path)
    if spec.get("file"):
        other = os.path.normpath(os.path.join(os.path.dirname(path), spec["file"]))
        if not os.path.isfile(other):
            raise ExtendsError(f'extends file "{spec["file"]}" not found', file=shown,
                               path=("services", name, "extends"))
        # Relative paths in the other file are relative to that file's directory.
        _prepare_file(ctx, other, os.path.dirname(other))
    else:
        other = path
    target = spec["service"]
    here = (path, name)
    key = (other, target)
    chain = (*stack, here)
    if key in chain:
        names = " -> ".join(n for _, n in (*chain, key))
        raise ExtendsError(f"circular extends: {names}", file=shown,
                           path=("services", name, "extends"))
    if target not in ctx.cache[other]["services"]:
        where = "" if other == path else f' in "{ctx.display(other)}"'
        raise ExtendsError(f'cannot extend service "{target}"{where}: no such service',
                           file=shown, path=("services", name, "extends"))
    base = _resolve_extends(ctx, other, target, chain)
    own = {k: v for k, v in service.items() if k != "extends"}
    return merge_service(base, own)


def _load_env(
    project_dir: str,
    env_files: Sequence[StrPath] | None,
    environ: Mapping[str, str],
    read_text: ReadText,
    warnings: list[str],
) -> dict[str, str]:
    """``.env`` (or the ``--env-file`` list, later files winning) under the process
    environment, which always wins."""
    from_files: dict[str, str] = {}
    if env_files is None:
        candidates = [os.path.join(project_dir, ".env")]
        required = False
    else:
        candidates = [os.path.abspath(os.path.join(project_dir, p)) for p in env_files]
        required = True
    for path in candidates:
        try:
            text = read_text(path)
        except FileNotFoundError:
            if required:
                raise ComposeFileError(f'env file "{path}" not found') from None
            continue
        except IsADirectoryError:
            continue
        values, file_warnings = parse_dotenv(text, file=path, lookup={**from_files, **environ})
        warnings.extend(file_warnings)
        from_files.update({k: v for k, v in values.items() if v is not None})
    return {**from_files, **environ}


def _active(service: Mapping[str, Any], profiles: set[str]) -> bool:
    wanted = service.get("profiles") or []
    return not wanted or "*" in profiles or bool(profiles.intersection(wanted))


def load_project(
    files: Sequence[StrPath] = (),
    *,
    working_dir: StrPath | None = None,
    project_name: str | None = None,
    env_files: Sequence[StrPath] | None = None,
    environ: Mapping[str, str] | None = None,
    profiles: Sequence[str] | None = None,
    read_text: ReadText = read_text_file,
) -> Project:
    """Load, merge and validate a compose project.

    ``files`` are the ``-f`` files in order (default: found in ``working_dir``);
    ``working_dir`` is ``--project-directory`` (default: the first file's directory);
    ``project_name`` is ``-p``; ``env_files`` replaces ``.env`` as ``--env-file`` does;
    ``environ`` is the process environment (default ``os.environ``); ``profiles`` are the
    ``--profile`` flags (default: ``COMPOSE_PROFILES``).
    """
    environ = dict(os.environ if environ is None else environ)
    if files:
        paths = [os.path.abspath(os.fspath(f)) for f in files]
        project_dir = os.path.abspath(working_dir or os.path.dirname(paths[0]))
    else:
        project_dir = os.path.abspath(working_dir or os.getcwd())
        paths = find_compose_files(project_dir)
    warnings: list[str] = []
    env = _load_env(project_dir, env_files, environ, read_text, warnings)
    interpolator = Interpolator(env)
    ctx = _Context(project_dir=project_dir, environ=env, interpolator=interpolator,
                   read_text=read_text, warnings=warnings)

    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for path in paths:
        doc = _prepare_file(ctx, path, project_dir)
        resolved = {name: _resolve_extends(ctx, path, name) for name in doc["services"]}
        for name in resolved:
            origins.setdefault(name, ctx.display(path))
        merged = merge_top_level(merged, {**doc, "services": resolved})
    for text in interpolator.warnings:
        ctx.warn(text)

    name = _project_name(project_name, env, merged, project_dir)
    enabled = set(profiles) if profiles else {
        p.strip() for p in env.get("COMPOSE_PROFILES", "").split(",") if p.strip()
    }
    raw_services: dict[str, Any] = merged.get("services") or {}
    active = {n: s for n, s in raw_services.items() if _active(s, enabled)}
    disabled = sorted(set(raw_services) - set(active))

    services: dict[str, Service] = {}
    for svc_name in sorted(active):
        services[svc_name] = build_service(
            svc_name, active[svc_name], file=origins[svc_name], project_env=env,
            read_text=read_text, warnings=ctx.warnings,
        )

    net_raw: dict[str, Any] = dict(merged.get("networks") or {})
    if any(n.network == "default" for s in services.values() for n in s.networks):
        net_raw.setdefault("default", None)
    networks: dict[str, NetworkConfig] = {
        key: build_network(name, key, spec) for key, spec in sorted(net_raw.items())
    }
    volumes: dict[str, VolumeConfig] = {
        key: build_volume(name, key, spec)
        for key, spec in sorted((merged.get("volumes") or {}).items())
    }
    check_services(
        services,
        network_keys=set(networks),
        volume_keys=set(volumes),
        all_services=set(services),
        origins=origins,
        raw_networks={n: bool(active[n].get("networks")) for n in services},
        warnings=ctx.warnings,
    )
    services = drop_unavailable_dependencies(services, set(disabled), origins, ctx.warnings)
    extras = {k: v for k, v in merged.items()
              if k not in ("services", "networks", "volumes", "name")}
    return Project(
        name=name,
        working_dir=project_dir,
        services=services,
        networks=networks,
        volumes=volumes,
        environment=env,
        warnings=tuple(ctx.warnings),
        compose_files=tuple(paths),
        disabled_services=tuple(disabled),
        extras=extras,
    )


def _project_name(
    explicit: str | None, env: Mapping[str, str], merged: Mapping[str, Any], project_dir: str
) -> str:
    """``-p`` > ``COMPOSE_PROJECT_NAME`` > ``name:`` > the project directory's name."""
    if explicit:
        return validate_project_name(explicit, "-p")
    if env.get("COMPOSE_PROJECT_NAME"):
        return validate_project_name(env["COMPOSE_PROJECT_NAME"], "COMPOSE_PROJECT_NAME")
    if merged.get("name"):
        return validate_project_name(str(merged["name"]), "the name: attribute")
    derived = normalize_project_name(os.path.basename(project_dir.rstrip("/")))
    if not derived:
        raise ProjectError(f'cannot derive a project name from directory "{project_dir}"; '
                           "use -p or name:")
    return derived
