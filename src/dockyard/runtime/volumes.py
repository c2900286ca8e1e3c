"""Named and anonymous volumes: directories under ``<root>/volumes/<name>/_data``.

A volume is created on first use and kept until removed. On the first mount into a
container, a volume that is still empty gets the image's content at the mount path
copied in, as Docker does (then ``copied`` is recorded so it never happens again).
Anonymous volumes carry Docker's ``com.docker.volume.anonymous`` label and a random
64-hex name; ``rm -v`` removes them with their container.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from dockyard.errors import Conflict, NotFound
from dockyard.model.ids import new_id
from dockyard.runtime.options import validate_volume_name
from dockyard.store.base import Store

VOLUME_KIND = "volume"
ANONYMOUS_LABEL = "com.docker.volume.anonymous"


@dataclass(frozen=True)
class Volume:
    name: str
    created: str
    labels: dict[str, str] = field(default_factory=dict)
    copied: bool = False

    @property
    def anonymous(self) -> bool:
        return ANONYMOUS_LABEL in self.labels

    def to_doc(self) -> dict[str, Any]:
        return {"name": self.name, "created": self.created, "labels": dict(self.labels),
                "copied": self.copied}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Volume:
        return cls(doc["name"], doc["created"], dict(doc.get("labels") or {}),
                   bool(doc.get("copied")))


class VolumeStore:
    def __init__(self, root: str, store: Store) -> None:
        self.root = os.path.join(root, "volumes")
        self.store = store
        os.makedirs(self.root, mode=0o701, exist_ok=True)

    def data_dir(self, name: str) -> str:
        return os.path.join(self.root, name, "_data")

    def get(self, name: str) -> Volume:
        doc = self.store.get(VOLUME_KIND, name)
        if doc is None:
            raise NotFound(f"get {name}: no such volume")
        return Volume.from_doc(doc)

    def list(self) -> list[Volume]:
        return sorted((Volume.from_doc(d) for d in self.store.list(VOLUME_KIND)),
                      key=lambda v: v.name)

    def ensure(self, name: str | None = None, labels: Mapping[str, str] | None = None
               ) -> tuple[Volume, bool]:
        """The volume ``name`` (made when missing) or a new anonymous one; and whether it
        was made by this call."""
        if name is None:
            name, labels = new_id(), {**(labels or {}), ANONYMOUS_LABEL: ""}
        validate_volume_name(name)
        with self.store.transaction() as txn:
            doc = txn.get(VOLUME_KIND, name)
            if doc is not None:
                return Volume.from_doc(doc), False
            volume = Volume(name, _now(), dict(labels or {}))
            os.makedirs(self.data_dir(name), mode=0o755, exist_ok=True)
            txn.put(VOLUME_KIND, name, volume.to_doc())
        return volume, True

    def seed(self, name: str, source: str) -> None:
        """Copy ``source`` (the image's content at the mount path) into a volume that has
        never been seeded and is still empty."""
        volume = self.get(name)
        if volume.copied:
            return
        target = self.data_dir(name)
        if os.path.isdir(source) and not os.listdir(target):
            shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
            shutil.copystat(source, target)
        with self.store.transaction() as txn:
            txn.put(VOLUME_KIND, name, replace(volume, copied=True).to_doc())

    def remove(self, name: str, *, in_use: Callable[[str], str | None] | None = None) -> None:
        self.get(name)
        user = in_use(name) if in_use is not None else None
        if user is not None:
            raise Conflict(f"remove {name}: volume is in use - [{user}]")
        with self.store.transaction() as txn:
            txn.delete(VOLUME_KIND, name)
        shutil.rmtree(os.path.join(self.root, name), ignore_errors=True)

    def inspect(self, name: str) -> dict[str, Any]:
        """Docker's ``GET /volumes/{name}`` shape."""
        volume = self.get(name)
        return {"CreatedAt": volume.created, "Driver": "local", "Labels": volume.labels,
                "Mountpoint": self.data_dir(name), "Name": volume.name, "Options": None,
                "Scope": "local"}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
