"""``top`` runs the host's ``ps`` with the user's arguments, as dockerd does."""

from __future__ import annotations

import shutil
import time

import pytest

from tests.e2e.daemon import Daemon, lines, ok

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(shutil.which("ps") is None, reason="no ps on this machine")]


def test_top_takes_ps_arguments(busybox: Daemon) -> None:
    daemon = busybox
    ok(daemon.cli("run", "-d", "--name", "tp", "busybox", "sh", "-c",
                  "sleep 1001 & exec sleep 1002"))
    pid = ok(daemon.cli("inspect", "-f", "{{.State.Pid}}", "tp")).strip()

    deadline = time.monotonic() + 5
    # the header and both sleeps (the background one may not be forked yet)
    while len(table := [line.split() for line in lines(ok(daemon.cli("top", "tp")))]) < 3:
        assert time.monotonic() < deadline, table
        time.sleep(0.05)
    assert table[0] == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert table[1][1] == pid  # the init first: ps lists by pid
    assert sorted(" ".join(r[7:]) for r in table[1:]) == ["sleep 1001", "sleep 1002"]
    assert lines(ok(daemon.cli("top", "tp", "-o", "pid,comm")))[0].split() == \
        ["PID", "COMMAND"]
    assert lines(ok(daemon.cli("top", "tp", "aux")))[0].split()[:3] == ["USER", "PID", "%CPU"]
    status, body = daemon.api("GET", "/containers/tp/top", query={"ps_args": "--bogus"})
    assert status == 500 and isinstance(body, dict) and body["message"].startswith("ps: ")
    if shutil.which("docker"):
        for args in ((), ("aux",), ("-o", "pid,comm")):
            assert ok(daemon.docker("top", "tp", *args)) == ok(daemon.cli("top", "tp", *args))
