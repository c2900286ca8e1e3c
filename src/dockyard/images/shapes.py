"""Docker's image JSON: ``GET /images/json`` items and ``GET /images/{id}/json``.

The one place that knows Docker's field names for images; everything else works with
:class:`ImageRecord`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dockyard.images.config import go_run_config, parse_time

ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass(frozen=True)
class ImageRecord:
    """One stored image: its config bytes (the id's source), layers and tags."""

    id: str  # "sha256:<hex>"
    config_json: str
    diff_ids: tuple[str, ...]  # bottom layer first, as in rootfs.diff_ids
    size: int
    repo_tags: tuple[str, ...] = ()
    last_tag_time: str | None = None
    parent: str = ""  # the image a commit or build step made it from, "" for none

    @property
    def config(self) -> dict[str, Any]:
        value = json.loads(self.config_json)
        return value if isinstance(value, dict) else {}

    @property
    def short_id(self) -> str:
        return self.id.removeprefix("sha256:")[:12]

    @property
    def labels(self) -> dict[str, str]:
        run = self.config.get("config") or {}
        return dict(run.get("Labels") or {})

    @property
    def created(self) -> str:
        return str(self.config.get("created") or ZERO_TIME)


def list_item(record: ImageRecord, containers: int = -1) -> dict[str, Any]:
    """An item of ``GET /images/json``."""
    return {
        "Containers": containers,
        "Created": int(parse_time(record.created).timestamp()),
        "Id": record.id,
        "Labels": record.labels or None,
        "ParentId": record.parent,
        "RepoDigests": [],
        "RepoTags": list(record.repo_tags),
        "SharedSize": -1,
        "Size": record.size,
        "VirtualSize": record.size,
    }


def inspect_doc(record: ImageRecord, layer_dirs: list[str]) -> dict[str, Any]:
    """``GET /images/{id}/json``; ``layer_dirs`` topmost first, for GraphDriver."""
    config = record.config
    doc: dict[str, Any] = {
        "Id": record.id,
        "RepoTags": list(record.repo_tags),
        "RepoDigests": [],
        "Parent": record.parent,
        "Comment": config.get("comment", ""),
        "Created": record.created,
        "DockerVersion": config.get("docker_version", ""),
        "Author": config.get("author", ""),
        "Config": go_run_config(config.get("config")),
        "Architecture": config.get("architecture", ""),
        "Os": config.get("os", ""),
        "Size": record.size,
        "VirtualSize": record.size,
        "GraphDriver": {
            "Name": "overlay",
            "Data": {"LowerDir": ":".join(layer_dirs)} if layer_dirs else None,
        },
        "RootFS": {"Type": "layers", "Layers": list(record.diff_ids)},
        "Metadata": {"LastTagTime": record.last_tag_time or ZERO_TIME},
    }
    if config.get("variant"):
        doc["Variant"] = config["variant"]
    if config.get("os.version"):
        doc["OsVersion"] = config["os.version"]
    return doc
