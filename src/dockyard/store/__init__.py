"""State behind one small interface: every change is one transaction."""

from __future__ import annotations

from dockyard.store.base import Store, Txn
from dockyard.store.memory import MemoryStore
from dockyard.store.sqlite import SqliteStore

__all__ = ["MemoryStore", "SqliteStore", "Store", "Txn"]
