"""The image config document, serialised the way Docker's Go code does.

An image id is ``sha256:`` + the sha256 of the config JSON *bytes*; to compute ids the
way Docker does, the bytes must come out as Go's ``encoding/json`` writes them: compact,
top-level keys sorted (``image.Image.MarshalJSON``), the run config's keys in the
``container.Config`` struct order, map keys sorted, ``<``, ``>``, ``&`` escaped.
A loaded image keeps its original bytes instead, so its id survives a save/load trip.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

ID_PREFIX = "sha256:"

# container.Config fields in Go struct order; None marks `omitempty` fields left out when empty.
_RUN_CONFIG_FIELDS: tuple[tuple[str, Any], ...] = (
    ("Hostname", ""),
    ("Domainname", ""),
    ("User", ""),
    ("AttachStdin", False),
    ("AttachStdout", False),
    ("AttachStderr", False),
    ("ExposedPorts", None),
    ("Tty", False),
    ("OpenStdin", False),
    ("StdinOnce", False),
    ("Env", "null"),
    ("Cmd", "null"),
    ("Healthcheck", None),
    ("ArgsEscaped", None),
    ("Image", ""),
    ("Volumes", "null"),
    ("WorkingDir", ""),
    ("Entrypoint", "null"),
    ("NetworkDisabled", None),
    ("MacAddress", None),
    ("OnBuild", "null"),
    ("Labels", "null"),
    ("StopSignal", None),
    ("StopTimeout", None),
    ("Shell", None),
)

_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
           "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def host_architecture() -> str:
    machine = platform.machine()
    return _GOARCH.get(machine, machine)


def go_json(value: Any) -> bytes:
    """Compact JSON as Go's encoding/json writes it (keys in the order given)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text.encode()


def digest_of(data: bytes) -> str:
    return ID_PREFIX + hashlib.sha256(data).hexdigest()


def format_time(moment: datetime) -> str:
    """RFC 3339 with nanoseconds and trailing zeros dropped, as Go's time.RFC3339Nano."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_time(text: str) -> datetime:
    """Parse Go's RFC3339Nano output (nanoseconds truncated to microseconds)."""
    if not text:
        return datetime(1, 1, 1, tzinfo=UTC)
    main, _, frac = text.rstrip("Z").partition(".")
    offset = ""
    for sign in ("+", "-"):
        if sign in frac:
            frac, _, rest = frac.partition(sign)
            offset = sign + rest
    if not frac and len(main) > 19 and main[19] in "+-":
        main, offset = main[:19], main[19:]
    moment = datetime.fromisoformat(main + (offset or "+00:00"))
    if frac:
        moment = moment.replace(microsecond=int(frac[:6].ljust(6, "0")))
    return moment.astimezone(UTC)


def go_run_config(config: dict[str, Any] | None) -> dict[str, Any]:
    """A run config in container.Config's shape and field order; unknown fields are kept."""
    source = dict(config or {})
    out: dict[str, Any] = {}
    for name, default in _RUN_CONFIG_FIELDS:
        value = source.pop(name, None)
        if isinstance(value, dict) and name in ("ExposedPorts", "Volumes", "Labels"):
            value = {key: value[key] for key in sorted(value)}
        if default is None:  # `omitempty`: Go leaves empty values out entirely
            if value is None or value is False or value in ("", [], {}):
                continue
            out[name] = value
        elif default == "null":  # a nil slice or map
            out[name] = value
        else:
            out[name] = default if value is None else value
    out.update(source)
    return out


@dataclass(frozen=True)
class RunConfig:
    """The part of an image config `--change` can set, as immutable values."""

    user: str = ""
    env: tuple[str, ...] = ()
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    exposed_ports: tuple[str, ...] = ()  # "80/tcp"
    working_dir: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    volumes: tuple[str, ...] = ()
    stop_signal: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def env_get(self, key: str) -> str | None:
        for item in self.env:
            name, sep, value = item.partition("=")
            if name == key and sep:
                return value
        return None

    def with_env(self, key: str, value: str) -> RunConfig:
        kept = [item for item in self.env if item.partition("=")[0] != key]
        # Docker replaces a variable in place, so keep its position when it exists.
        for index, item in enumerate(self.env):
            if item.partition("=")[0] == key:
                updated = list(self.env)
                updated[index] = f"{key}={value}"
                return replace(self, env=tuple(updated))
        return replace(self, env=(*kept, f"{key}={value}"))

    def with_label(self, key: str, value: str) -> RunConfig:
        labels = dict(self.labels)
        labels[key] = value
        return replace(self, labels=tuple(labels.items()))

    def to_go(self) -> dict[str, Any]:
        doc: dict[str, Any] = dict(self.extra)
        doc.update({
            "User": self.user,
            "Env": list(self.env) if self.env else None,
            "Cmd": list(self.cmd) if self.cmd is not None else None,
            "Entrypoint": list(self.entrypoint) if self.entrypoint is not None else None,
            "WorkingDir": self.working_dir,
            "Labels": dict(self.labels) if self.labels else None,
            "Volumes": {v: {} for v in self.volumes} if self.volumes else None,
        })
        if self.exposed_ports:
            doc["ExposedPorts"] = {port: {} for port in self.exposed_ports}
        if self.stop_signal:
            doc["StopSignal"] = self.stop_signal
        return go_run_config(doc)

    @classmethod
    def from_go(cls, doc: dict[str, Any] | None) -> RunConfig:
        doc = dict(doc or {})
        known = ("User", "Env", "Cmd", "Entrypoint", "ExposedPorts", "WorkingDir", "Labels",
                 "Volumes", "StopSignal")
        cmd, entrypoint = doc.get("Cmd"), doc.get("Entrypoint")
        return cls(
            user=doc.get("User") or "",
            env=tuple(doc.get("Env") or ()),
            cmd=tuple(cmd) if cmd is not None else None,
            entrypoint=tuple(entrypoint) if entrypoint is not None else None,
            exposed_ports=tuple(sorted(doc.get("ExposedPorts") or {})),
            working_dir=doc.get("WorkingDir") or "",
            labels=tuple(sorted((doc.get("Labels") or {}).items())),
            volumes=tuple(sorted(doc.get("Volumes") or {})),
            stop_signal=doc.get("StopSignal") or "",
            # Zero values are the Go shape's defaults, which to_go() puts back.
            extra={k: v for k, v in doc.items()
                   if k not in known and v not in (None, "", False, [], {})},
        )


def build_import_config(
    run_config: RunConfig,
    diff_ids: list[str],
    created: datetime,
    *,
    comment: str = "",
    architecture: str | None = None,
    os_name: str = "linux",
) -> bytes:
    """The config bytes `docker import` writes: one layer, one history entry."""
    stamp = format_time(created)
    history: dict[str, Any] = {"created": stamp}
    if comment:
        history["comment"] = comment
    doc: dict[str, Any] = {
        "architecture": architecture or host_architecture(),
        "comment": comment,
        "config": run_config.to_go(),
        "created": stamp,
        "history": [history],
        "os": os_name,
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
    }
    if not comment:
        del doc["comment"]
    return go_json({key: doc[key] for key in sorted(doc)})


def image_id(config_bytes: bytes) -> str:
    return digest_of(config_bytes)


def commit_config(
    base: dict[str, Any],
    run_config: dict[str, Any],
    diff_ids: list[str],
    created: datetime,
    *,
    empty_layer: bool,
    created_by: str = "",
    comment: str = "",
    author: str = "",
    container: str = "",
) -> bytes:
    """The config bytes of an image made on top of ``base`` (a parent image's config, or
    {} from scratch): the parent's platform and history, one history entry more, the new
    run config and layers."""
    stamp = format_time(created)
    entry: dict[str, Any] = {"created": stamp}
    for key, value in (("author", author), ("created_by", created_by), ("comment", comment)):
        if value:
            entry[key] = value
    if empty_layer:
        entry["empty_layer"] = True
    doc: dict[str, Any] = {
        "architecture": base.get("architecture") or host_architecture(),
        "config": go_run_config(run_config),
        "created": stamp,
        "history": [*(base.get("history") or []), entry],
        "os": base.get("os") or "linux",
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
    }
    for key in ("variant", "os.version"):
        if base.get(key):
            doc[key] = base[key]
    for key, value in (("author", author), ("comment", comment), ("container", container)):
        if value:
            doc[key] = value
    return go_json({key: doc[key] for key in sorted(doc)})
