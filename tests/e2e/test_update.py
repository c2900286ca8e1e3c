"""``update``: a container's restart policy and memory limits, changed while it runs."""

from __future__ import annotations

import json
import os
import shutil
import signal

import pytest

from tests.e2e.daemon import Daemon, ok
from tests.integration.hosts import wait_for

pytestmark = pytest.mark.root


def _inspect(daemon: Daemon, ref: str) -> dict:  # type: ignore[type-arg]
    return json.loads(ok(daemon.cli("inspect", ref)))[0]  # type: ignore[no-any-return]


def test_update_restart_policy_and_memory(busybox: Daemon) -> None:
    daemon = busybox
    ok(daemon.cli("run", "-d", "--name", "upd", "busybox", "sleep", "600"))
    assert ok(daemon.cli("update", "--restart", "always", "-m", "64m", "upd")) == "upd\n"
    doc = _inspect(daemon, "upd")
    assert doc["HostConfig"]["RestartPolicy"]["Name"] == "always"
    assert doc["HostConfig"]["Memory"] == 64 << 20
    pid = doc["State"]["Pid"]
    with open(f"/proc/{pid}/cgroup") as f:
        group = next(line.split(":")[2].strip() for line in f if ":memory:" in line)
    with open(f"/sys/fs/cgroup/memory{group}/memory.limit_in_bytes") as f:
        assert int(f.read()) == 64 << 20  # the running container is limited at once
    os.kill(pid, signal.SIGKILL)  # not a user's stop: the new policy brings it back
    wait_for(lambda: _inspect(daemon, "upd")["RestartCount"] == 1
             and _inspect(daemon, "upd")["State"]["Running"], timeout=10,
             what='the restart of "upd"')

    refused = daemon.cli("update", "--restart", "sometimes", "upd")
    assert refused.returncode == 1
    assert 'invalid restart policy "sometimes"' in refused.stderr
    low = daemon.cli("update", "-m", "1m", "upd")
    assert "Minimum memory limit allowed is 6MB" in low.stderr
    doc = _inspect(daemon, "upd")  # refused updates changed nothing
    assert (doc["HostConfig"]["RestartPolicy"]["Name"], doc["HostConfig"]["Memory"]) == \
        ("always", 64 << 20)
    none = daemon.cli("update", "upd")
    assert none.returncode == 125
    assert "you must provide one or more flags" in none.stderr

    ok(daemon.cli("run", "-d", "--rm", "--name", "gone", "busybox", "sleep", "600"))
    auto = daemon.cli("update", "--restart", "always", "gone")
    assert "AutoRemove is enabled" in auto.stderr


def test_docker_cli_update_of_memory_keeps_the_restart_policy(busybox: Daemon) -> None:
    """The docker CLI always sends a RestartPolicy, with no name unless --restart."""
    if shutil.which("docker") is None:
        pytest.skip("the docker CLI is not installed")
    daemon = busybox
    ok(daemon.cli("run", "-d", "--name", "kept", "--restart", "always", "busybox", "sleep",
                  "600"))
    assert ok(daemon.docker("update", "-m", "96m", "kept")) == "kept\n"
    doc = _inspect(daemon, "kept")
    assert (doc["HostConfig"]["RestartPolicy"]["Name"], doc["HostConfig"]["Memory"]) == \
        ("always", 96 << 20)
