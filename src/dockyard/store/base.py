"""The store interface.

Objects are JSON documents addressed by ``(kind, key)``: ``("network", id)``,
``("endpoint", id)``… Writes happen only inside :meth:`Store.transaction`, which
commits all of its puts and deletes atomically or none of them. The interface is
deliberately the shape of a key-value store with revisions, so an etcd store can
implement it later (kinds become key prefixes, the revision the etcd revision).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

Doc = dict[str, Any]


class Txn(Protocol):
    """Reads see the transaction's own writes; nothing is visible to others until commit."""

    def get(self, kind: str, key: str) -> Doc | None: ...

    def list(self, kind: str) -> list[Doc]: ...

    def put(self, kind: str, key: str, value: Doc) -> None: ...

    def delete(self, kind: str, key: str) -> None: ...


class Store(Protocol):
    def get(self, kind: str, key: str) -> Doc | None: ...

    def list(self, kind: str) -> list[Doc]: ...

    def keys(self, kind: str, prefix: str = "", limit: int | None = None) -> tuple[str, ...]:
        """The keys of ``kind`` that start with ``prefix``, in order, at most ``limit``:
        an id prefix is resolved without reading (and parsing) every document."""
        ...

    def transaction(self) -> AbstractContextManager[Txn]:
        """Exclusive write transaction: commits on normal exit, rolls back on an exception."""
        ...

    def revision(self, kinds: Iterable[str] | None = None) -> int:
        """Increases with every committed transaction that wrote something (to one of
        ``kinds``, when given)."""
        ...

    def close(self) -> None: ...


def iter_kind(store: Store | Txn, kind: str) -> Iterator[Doc]:
    yield from store.list(kind)
