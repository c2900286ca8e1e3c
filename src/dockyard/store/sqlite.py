"""The embedded default store: one SQLite file under the state root.

WAL mode with ``synchronous=NORMAL``: a committed transaction survives the
process being killed (it is in the WAL before commit returns), which is the
crash model the engine cares about; ``BEGIN IMMEDIATE`` serialises writers
across processes so two CLIs or a CLI and a daemon never interleave.

Reads outside a transaction go to a second connection. A writer holds its
connection for the whole transaction, and the engine's transactions include kernel
work (routes, nftables, the sandbox's files); with one connection every other
thread's read (each ``Engine.state()`` asks the revision) queued behind that work.
WAL lets the reader see the last commit meanwhile. A thread inside a transaction
still reads through the writer's connection, so it sees its own uncommitted writes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from dockyard.store.base import Doc

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    revision INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0);
"""


_GET = "SELECT value FROM objects WHERE kind = ? AND key = ?"
_LIST = "SELECT value FROM objects WHERE kind = ? ORDER BY key"
# A range on the primary key: keys compare as UTF-8 bytes, and no character follows
# U+10FFFF, so [prefix, prefix + U+10FFFF) holds exactly the keys starting with prefix.
_KEYS = ("SELECT key FROM objects WHERE kind = ? AND key >= ? AND key < ? ORDER BY key "
         "LIMIT ?")
_REVISION = "SELECT value FROM meta WHERE name = 'revision'"


def _one_doc(rows: list[tuple[str]]) -> Doc | None:
    return json.loads(rows[0][0]) if rows else None


class _SqliteTxn:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.wrote = False
        self._kinds: set[str] = set()

    def get(self, kind: str, key: str) -> Doc | None:
        return _one_doc(self._conn.execute(_GET, (kind, key)).fetchall())

    def list(self, kind: str) -> list[Doc]:
        return [json.loads(row[0]) for row in self._conn.execute(_LIST, (kind,)).fetchall()]

    def put(self, kind: str, key: str, value: Doc) -> None:
        self._bump(kind)
        self._conn.execute(
            "INSERT INTO objects (kind, key, value, revision) VALUES (?, ?, ?, "
            "(SELECT value FROM meta WHERE name = 'revision')) "
            "ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, "
            "revision = excluded.revision",
            (kind, key, json.dumps(value, separators=(",", ":"), sort_keys=True)),
        )

    def delete(self, kind: str, key: str) -> None:
        self._bump(kind)
        self._conn.execute("DELETE FROM objects WHERE kind = ? AND key = ?", (kind, key))

    def _bump(self, kind: str) -> None:
        if not self.wrote:
            self._conn.execute("UPDATE meta SET value = value + 1 WHERE name = 'revision'")
            self.wrote = True
        if kind not in self._kinds:
            # Per-kind revisions let a reader keep a cache of some kinds while others churn.
            self._conn.execute(
                "INSERT INTO meta (name, value) VALUES (?, 1) "
                "ON CONFLICT (name) DO UPDATE SET value = value + 1",
                (f"revision:{kind}",),
            )
            self._kinds.add(kind)


class SqliteStore:
    def __init__(self, root: str) -> None:
        os.makedirs(root, mode=0o700, exist_ok=True)
        self.path = os.path.join(root, "dockyard.db")
        # One connection per store, guarded by a lock: the engine's own lock already
        # serialises writers in-process, and sqlite serialises them across processes.
        self._conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        self._lock = threading.RLock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._reader = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        self._reader_lock = threading.Lock()
        self._writing = threading.local()  # .depth: this thread's open transactions
        self._revision_queries: dict[tuple[str, ...], tuple[str, tuple[str, ...]]] = {}

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        """A read's rows: from the reader's connection, unless this thread is writing.
        (A plain function, not a context manager: every Engine.state() comes here.)"""
        if getattr(self._writing, "depth", 0):
            with self._lock:
                return self._conn.execute(sql, params).fetchall()
        with self._reader_lock:
            return self._reader.execute(sql, params).fetchall()

    def get(self, kind: str, key: str) -> Doc | None:
        return _one_doc(self._read(_GET, (kind, key)))

    def list(self, kind: str) -> list[Doc]:
        return [json.loads(row[0]) for row in self._read(_LIST, (kind,))]

    def keys(self, kind: str, prefix: str = "", limit: int | None = None) -> tuple[str, ...]:
        rows = self._read(_KEYS, (kind, prefix, prefix + "\U0010ffff",
                                  -1 if limit is None else limit))
        return tuple(row[0] for row in rows)

    @contextmanager
    def transaction(self) -> Iterator[_SqliteTxn]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            txn = _SqliteTxn(self._conn)
            self._writing.depth = getattr(self._writing, "depth", 0) + 1
            try:
                yield txn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            finally:
                self._writing.depth -= 1
            self._conn.execute("COMMIT")

    def revision(self, kinds: Iterable[str] | None = None) -> int:
        if kinds is None:
            return int(self._read(_REVISION)[0][0])
        kinds = tuple(kinds)
        query = self._revision_queries.get(kinds)
        if query is None:  # asked before every cached read: built once per set of kinds
            names = tuple(f"revision:{kind}" for kind in kinds)
            marks = ",".join("?" * len(names))
            query = (f"SELECT coalesce(sum(value), 0) FROM meta WHERE name IN ({marks})",
                     names)
            self._revision_queries[kinds] = query
        return int(self._read(*query)[0][0])

    def close(self) -> None:
        with self._reader_lock:
            self._reader.close()
        with self._lock:
            self._conn.close()
