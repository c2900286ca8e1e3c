"""The reaper's lanes: background jobs of one lane run in order, lanes do not wait for
each other, and whoever needs a key waits only for that key's jobs."""

from __future__ import annotations

import threading

from dockyard.kernel.reaper import Reaper

TIMEOUT = 10.0


def test_a_firewall_job_does_not_wait_behind_a_slow_device_deletion() -> None:
    reaper = Reaper(None)
    release = threading.Event()
    applied = threading.Event()
    try:
        reaper.submit("br-slow", lambda _rtnl: release.wait(TIMEOUT))
        reaper.submit("nftables", lambda _rtnl: applied.set(), lane="firewall")
        assert applied.wait(TIMEOUT), "the firewall job waited for the device lane"
        reaper.wait_for("nftables")
        assert reaper.pending("br-slow") and not reaper.pending("nftables")
    finally:
        release.set()
        reaper.close()
    assert not reaper.pending()


def test_jobs_of_one_lane_run_in_submission_order() -> None:
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
