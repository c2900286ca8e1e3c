"""Both stores: one transaction per change, read back by a new process, per-kind revisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.store import MemoryStore, SqliteStore
from dockyard.store.base import Store


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return MemoryStore() if request.param == "memory" else SqliteStore(str(tmp_path))


def test_a_failed_transaction_writes_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as txn:
        txn.put("network", "a", {"id": "a"})
        raise RuntimeError("boom")
    assert store.list("network") == []
    assert store.revision() == 0


def test_reads_inside_a_transaction_see_its_writes(store: Store) -> None:
    with store.transaction() as txn:
        txn.put("network", "a", {"id": "a"})
        assert txn.get("network", "a") == {"id": "a"}
        txn.delete("network", "a")
        assert txn.list("network") == []


def test_keys_by_prefix_in_order_and_limited(store: Store) -> None:
    with store.transaction() as txn:
        for key in ("ab12", "ab34", "abc", "b", "a", "aé", "a\U0010fffe"):
            txn.put("container", key, {"id": key})
        txn.put("network", "ab99", {"id": "ab99"})
    assert store.keys("container", "ab") == ("ab12", "ab34", "abc")
    assert store.keys("container", "ab", limit=2) == ("ab12", "ab34")
    assert store.keys("container", "ab3") == ("ab34",)
    assert store.keys("container", "abd") == ()
    assert store.keys("container", "a") == ("a", "ab12", "ab34", "abc", "aé", "a\U0010fffe")
    assert store.keys("container") == (
        "a", "ab12", "ab34", "abc", "aé", "a\U0010fffe", "b")
    assert store.keys("volume", "a") == ()


def test_revisions_per_kind(store: Store) -> None:
    with store.transaction() as txn:
        txn.put("network", "a", {"id": "a"})
    net = store.revision(["network"])
    with store.transaction() as txn:
        txn.put("container", "c", {"id": "c"})
    assert store.revision(["network"]) == net
    assert store.revision(["network", "container"]) > net
    with store.transaction() as txn:
        txn.delete("network", "a")
    assert store.revision(["network"]) > net


def test_a_new_process_reads_what_the_last_one_committed(tmp_path: Path) -> None:
    first = SqliteStore(str(tmp_path))
    with first.transaction() as txn:
        txn.put("network", "a", {"id": "a", "name": "front"})
    first.close()
    second = SqliteStore(str(tmp_path))
    assert second.get("network", "a") == {"id": "a", "name": "front"}
    assert second.revision() == 1
    second.close()


def test_a_read_does_not_wait_for_another_threads_open_transaction(tmp_path: Path) -> None:
    """The engine's transactions hold kernel work: other threads' reads must not queue
    behind them. They see the last commit; the writing thread sees its own writes."""
    import threading

    store = SqliteStore(str(tmp_path))
    with store.transaction() as txn:
        txn.put("network", "a", {"id": "a", "v": 1})
    opened, done = threading.Event(), threading.Event()

    def writer() -> None:
        with store.transaction() as txn:
            txn.put("network", "a", {"id": "a", "v": 2})
            assert store.get("network", "a") == {"id": "a", "v": 2}  # its own write
            opened.set()
            assert done.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert opened.wait(10)
        # Would block until the writer commits (and the test time out) with one shared
        # connection: answered at once, from the last commit.
        assert store.get("network", "a") == {"id": "a", "v": 1}
        assert store.revision() == 1
    finally:
        done.set()
        thread.join(10)
    assert store.get("network", "a") == {"id": "a", "v": 2}
    assert store.revision() == 2
