"""The daemon dies (SIGKILL) or stops; the next start finds every network and endpoint."""

from __future__ import annotations

import json
import os
import signal
import stat

import pytest

from tests.e2e.conftest import make_sandbox
from tests.e2e.daemon import Daemon, ok

pytestmark = pytest.mark.root


def test_sigkill_then_restart_keeps_state(daemon: Daemon) -> None:
    ok(daemon.cli("network", "create", "--subnet", "10.66.0.0/24", "persist"))
    box = make_sandbox(daemon, "app")
    ok(daemon.cli("network", "connect", "--ip", "10.66.0.5", "persist", "app"))
    before = json.loads(ok(daemon.cli("network", "inspect", "persist")))[0]
    assert daemon.stop(signal.SIGKILL) == -signal.SIGKILL
    assert os.path.exists(daemon.socket)  # a killed daemon leaves its socket behind
    assert not daemon.answers()
    # Nothing is torn down while no daemon runs: the sandbox keeps its address.
    from tests.integration.hosts import run_in

    assert "10.66.0.5/24" in run_in(box.netns, ["ip", "-o", "addr"]).stdout
    daemon.start()
    after = json.loads(ok(daemon.cli("network", "inspect", "persist")))[0]
    assert after == before
    assert after["Containers"][box.id]["IPv4Address"] == "10.66.0.5/24"
    assert "10.66.0.1/24" in daemon.host.run(["ip", "-o", "addr"]).stdout
    assert "10.66.0.5/24" in run_in(box.netns, ["ip", "-o", "addr"]).stdout
    # And it still works: a new network after the restart.
    ok(daemon.cli("network", "create", "later"))


def test_sigterm_leaves_networks_and_removes_socket(daemon: Daemon) -> None:
    ok(daemon.cli("network", "create", "--subnet", "10.67.0.0/24", "stay"))
    mode = stat.S_IMODE(os.stat(daemon.socket).st_mode)
    assert mode == 0o660
    assert daemon.stop(signal.SIGTERM) == 0
    assert not os.path.exists(daemon.socket)
    assert "10.67.0.1/24" in daemon.host.run(["ip", "-o", "addr"]).stdout
    daemon.start()
    assert "stay" in ok(daemon.cli("network", "ls"))


def test_second_daemon_on_same_root_is_refused(daemon: Daemon) -> None:
    import subprocess

    from tests.e2e.daemon import DOCKYARD

    other = subprocess.run(
        ["nsenter", f"--net={daemon.host.netns}", DOCKYARD, "daemon", "--host",
         "unix://" + daemon.socket + "2", "--root", daemon.host.root, "--exec-root",
         daemon.host.exec_root], capture_output=True, text=True, timeout=30)
    assert other.returncode == 1
    assert "another daemon is using the state root" in other.stderr
    assert daemon.answers()
