"""In-memory store for unit tests; same semantics as the SQLite store."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from dockyard.store.base import Doc


class _MemoryTxn:
    def __init__(self, data: dict[str, dict[str, Doc]]) -> None:
        self._data = data
        self.writes: dict[tuple[str, str], Doc | None] = {}

    def get(self, kind: str, key: str) -> Doc | None:
        if (kind, key) in self.writes:
            value = self.writes[(kind, key)]
            return copy.deepcopy(value) if value is not None else None
        value = self._data.get(kind, {}).get(key)
        return copy.deepcopy(value) if value is not None else None

    def list(self, kind: str) -> list[Doc]:
        merged = dict(self._data.get(kind, {}))
        for (k, key), value in self.writes.items():
            if k != kind:
                continue
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return [copy.deepcopy(merged[key]) for key in sorted(merged)]

    def put(self, kind: str, key: str, value: Doc) -> None:
        self.writes[(kind, key)] = copy.deepcopy(value)

    def delete(self, kind: str, key: str) -> None:
        self.writes[(kind, key)] = None


class MemoryStore:
    def __init__(self) -> None:
        self._data: dict[str, dict[str, Doc]] = {}
        self._lock = threading.RLock()
        self._revision = 0
        self._kind_revisions: dict[str, int] = {}

    def get(self, kind: str, key: str) -> Doc | None:
        with self._lock:
            return _MemoryTxn(self._data).get(kind, key)

    def list(self, kind: str) -> list[Doc]:
        with self._lock:
            return _MemoryTxn(self._data).list(kind)

    def keys(self, kind: str, prefix: str = "", limit: int | None = None) -> tuple[str, ...]:
        with self._lock:
            found = sorted(key for key in self._data.get(kind, {}) if key.startswith(prefix))
        return tuple(found if limit is None else found[:limit])

    @contextmanager
    def transaction(self) -> Iterator[_MemoryTxn]:
        with self._lock:
            txn = _MemoryTxn(self._data)
            yield txn
            if not txn.writes:
                return
            for kind in {kind for kind, _ in txn.writes}:
                self._kind_revisions[kind] = self._kind_revisions.get(kind, 0) + 1
            for (kind, key), value in txn.writes.items():
                bucket = self._data.setdefault(kind, {})
                if value is None:
                    bucket.pop(key, None)
                else:
                    bucket[key] = value
            self._revision += 1

    def revision(self, kinds: Iterable[str] | None = None) -> int:
        if kinds is None:
            return self._revision
        return sum(self._kind_revisions.get(kind, 0) for kind in kinds)

    def close(self) -> None:
        pass
