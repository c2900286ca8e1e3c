"""The reaper: background deletions in submission order, held back while the foreground
changes links, hurried by whoever needs one finished."""

from __future__ import annotations

import threading
import time

from dockyard.kernel.reaper import Reaper

TIMEOUT = 10.0


def test_a_deletion_waits_for_a_quiet_moment() -> None:
    # A quiet period far longer than the gaps between foreground changes: only a stall of
    # half a second in this thread could let the deletion in early.
    reaper = Reaper(None, quiet=0.5, longest_wait=TIMEOUT)
    ran = threading.Event()
    try:
        reaper.note_busy()
        reaper.submit("br-a", lambda _rtnl: ran.set())
        busy_until = time.monotonic() + 0.3
        while time.monotonic() < busy_until:  # a burst of foreground changes
            reaper.note_busy()
            assert not ran.is_set(), "the deletion ran while links were being changed"
            time.sleep(0.01)
        assert ran.wait(TIMEOUT), "the deletion never ran once things were quiet"
    finally:
        reaper.close()


def test_whoever_needs_the_name_hurries_its_deletion() -> None:
    reaper = Reaper(None, quiet=TIMEOUT, longest_wait=TIMEOUT)
    try:
        reaper.note_busy()
        reaper.submit("br-a", lambda _rtnl: None)
        start = time.monotonic()
        reaper.wait_for("br-a")
        assert time.monotonic() - start < TIMEOUT / 2
        assert not reaper.pending()
    finally:
        reaper.close()


def test_a_deletion_waits_no_longer_than_its_longest_wait() -> None:
    reaper = Reaper(None, quiet=TIMEOUT, longest_wait=0.2)
    ran = threading.Event()
    try:
        reaper.note_busy()
        reaper.submit("br-a", lambda _rtnl: ran.set())
        assert ran.wait(TIMEOUT)
    finally:
        reaper.close()


def test_jobs_run_in_submission_order() -> None:
    reaper = Reaper(None)
    order: list[int] = []
    try:
        for i in range(20):
            reaper.submit(f"dev{i % 3}", lambda _rtnl, i=i: order.append(i))
        reaper.settle()
    finally:
        reaper.close()
    assert order == list(range(20))


def test_a_failing_job_is_logged_and_its_key_released() -> None:
    reaper = Reaper(None)

    def fail(_rtnl: object) -> None:
        raise OSError("gone already")

    try:
        reaper.submit("br-x", fail)
        reaper.wait_for("br-x")
        assert not reaper.pending()
    finally:
        reaper.close()
