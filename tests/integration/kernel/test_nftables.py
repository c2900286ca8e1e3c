"""libnftables in-process: a thread that keeps its context changes sets without waiting
out a grace period, and its socket goes with the thread."""

from __future__ import annotations

import os
import time

import pytest

from dockyard.kernel import nftables
from dockyard.kernel.ns import NetnsWorker, create_netns, delete_netns, setns_current_thread
from tests.integration.hosts import Host

pytestmark = pytest.mark.root

TABLE = """table inet dytest {
    set ports { type ifname; }
    chain forward { type filter hook forward priority 0; iifname @ports drop; }
}"""


def socket_fds() -> set[str]:
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except FileNotFoundError:
            continue
        if target.startswith("socket:"):
            found.add(target)
    return found


def test_a_kept_context_deletes_elements_at_once_and_closes_with_its_thread(
        host: Host) -> None:
    before = socket_fds()
    worker = NetnsWorker(host.netns)
    try:
        worker.call(lambda: nftables.run(TABLE, keep=True))
        start = time.monotonic()
        for i in range(20):
            worker.call(lambda i=i: nftables.run(
                f"add element inet dytest ports {{ veth{i} }}", keep=True))
            worker.call(lambda i=i: nftables.run(
                f"delete element inet dytest ports {{ veth{i} }}", keep=True))
        elapsed = time.monotonic() - start
        kept = socket_fds() - before
        listed = worker.call(lambda: nftables.run("list set inet dytest ports", keep=True))
        worker.call(lambda: nftables.run("delete table inet dytest", keep=True))
    finally:
        worker.close()
    # A context per call closes its socket each time, and each close after a deletion
    # waits for an RCU grace period: ~12 ms here, 0.24-0.31 s for the loop. Kept: ~0.1 ms
    # each, ~10-40 ms with the thread hops.
    assert elapsed < 0.18, f"20 adds and deletes took {elapsed * 1000:.0f} ms"
    assert len(kept) == 1  # one socket for all those changes
    assert "veth" not in listed  # every delete applied
    assert not kept & socket_fds()  # and it closed when its thread ended


def test_a_thread_visiting_another_namespace_changes_that_one(host: Host) -> None:
    """A kept context is the namespace its thread was in when it made it; in another one
    the thread gets a context of that namespace for the call."""
    other = os.path.join(host.exec_root, "netns", "visited")
    os.makedirs(os.path.dirname(other), exist_ok=True)
    create_netns(other)
    worker = NetnsWorker(host.netns)
    try:
        worker.call(lambda: nftables.run("table inet home {}", keep=True))

        def visit() -> str:
            setns_current_thread(other)
            try:
                nftables.run("table inet away {}", keep=True)
                return nftables.run("list tables", keep=True)
            finally:
                setns_current_thread(host.netns)

        assert worker.call(visit).split() == ["table", "inet", "away"]
        at_home = worker.call(lambda: nftables.run("list tables", keep=True))
        assert at_home.split() == ["table", "inet", "home"]
    finally:
        worker.call(lambda: nftables.run("delete table inet home", keep=True))
        worker.close()
        delete_netns(other)
