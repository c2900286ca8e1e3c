"""pause/unpause and memory limits through the daemon: our CLI, the Engine API and the
real docker CLI, each against its own daemon in a throw-away host namespace."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from tests.e2e.daemon import Daemon, lines, ok
from tests.e2e.test_containers import eventually, inspect

pytestmark = pytest.mark.root

MiB = 1024 * 1024


@pytest.fixture
def d(busybox: Daemon) -> Daemon:
    return busybox  # (the shared fixture in conftest.py, by this file's name)


def actions(d: Daemon, container: str) -> list[str]:
    """The container's events so far, oldest first."""
    from dockyard.client.http import Client

    body = Client(d.url).request("GET", "/events", query={
        "since": "0", "until": str(time.time() + 0.5),
        "filters": json.dumps({"type": ["container"], "container": [container]})}).body
    return [json.loads(line)["Action"] for line in body.splitlines() if line.strip()]


def state(d: Daemon, ref: str) -> dict[str, object]:
    doc = inspect(d, ref)["State"]
    assert isinstance(doc, dict)
    return doc


def test_cli_pause_unpause_ps_info_and_refusals(d: Daemon) -> None:
    # --init: an init passes the stop signal on (sleep as PID 1 would ignore it)
    a = ok(d.cli("run", "-d", "--init", "--name", "pa", "busybox", "sleep", "60")).strip()
    ok(d.cli("run", "-d", "--name", "pb", "busybox", "sleep", "60"))
    assert ok(d.cli("pause", "pa", "pb")) == "pa\npb\n"
    doc = state(d, "pa")
    assert (doc["Status"], doc["Running"], doc["Paused"]) == ("paused", True, True)
    table = lines(ok(d.cli("ps")))
    assert len(table) == 3 and all(" (Paused)" in row for row in table[1:])
    assert ok(d.cli("ps", "--format", "{{.Names}} {{.State}}")) == "pb paused\npa paused\n"
    assert ok(d.cli("ps", "-q", "--filter", "status=paused")).split() == [
        inspect(d, "pb")["Id"][:12], a[:12]]  # type: ignore[index]
    info = d.api("GET", "/info")[1]
    assert isinstance(info, dict)
    assert (info["ContainersRunning"], info["ContainersPaused"]) == (0, 2)
    assert " Paused: 2" in ok(d.cli("info"))

    again = d.cli("pause", "pa")
    assert again.returncode == 1
    assert again.stderr == f"Error response from daemon: Container {a} is already paused\n"
    assert d.api("POST", "/containers/pa/exec", {"Cmd": ["true"]}) == (
        409, {"message": "Container pa is paused, unpause the container before exec"})
    refused = d.cli("exec", "pa", "true")
    assert refused.returncode == 1 and "is paused, unpause the container" in refused.stderr
    assert d.api("POST", "/containers/pa/start") == (
        409, {"message": "cannot start a paused container, try unpause instead"})
    status, body = d.api("DELETE", "/containers/pa")
    assert status == 409 and "container is paused and must be unpaused first" in str(body)

    assert ok(d.cli("unpause", "pa", "pb")) == "pa\npb\n"
    assert state(d, "pa")["Status"] == "running" and state(d, "pa")["Paused"] is False
    assert ok(d.cli("exec", "pa", "echo", "thawed")) == "thawed\n"
    assert d.api("POST", "/containers/pa/unpause") == (
        409, {"message": f"Container {a} is not paused"})
    created = ok(d.cli("create", "--name", "idle", "busybox", "true")).strip()
    assert d.api("POST", "/containers/idle/pause") == (
        409, {"message": f"Container {created} is not running"})

    # stop of a paused container: thawed, so SIGTERM ends it (143) before any timeout.
    ok(d.cli("pause", "pa"))
    begun = time.monotonic()
    assert ok(d.cli("stop", "-t", "20", "pa")) == "pa\n"
    assert time.monotonic() - begun < 10
    doc = state(d, "pa")
    assert (doc["Status"], doc["ExitCode"], doc["Paused"]) == ("exited", 143, False)
    assert [x for x in actions(d, "pa") if not x.startswith("exec")] == [
        "create", "start", "pause", "unpause", "pause", "kill", "unpause", "die", "stop"]
    ok(d.cli("pause", "pb"))
    assert ok(d.cli("rm", "-f", "pb")) == "pb\n"
    assert d.api("GET", "/containers/pb/json")[0] == 404


def test_a_paused_container_stays_paused_across_a_daemon_restart(d: Daemon) -> None:
    ok(d.cli("run", "-d", "--name", "held", "busybox", "sh", "-c",
             "while :; do echo x >> /tmp/f; sleep 0.01; done"))
    eventually(lambda: d.cli("exec", "held", "test", "-s", "/tmp/f").returncode == 0)
    ok(d.cli("pause", "held"))
    pid = state(d, "held")["Pid"]
    d.stop()
    d.start()
    doc = state(d, "held")
    assert (doc["Status"], doc["Paused"], doc["Pid"]) == ("paused", True, pid)
    assert "(Paused)" in ok(d.cli("ps"))
    assert ok(d.cli("unpause", "held")) == "held\n"
    count = ok(d.cli("exec", "held", "wc", "-l", "/tmp/f")).split()[0]
    eventually(lambda: ok(d.cli("exec", "held", "wc", "-l", "/tmp/f")).split()[0] != count)


def test_memory_limit_and_oom_through_the_cli(d: Daemon) -> None:
    bad = d.cli("run", "-m", "12x", "busybox", "true")
    assert bad.returncode == 125
    assert bad.stderr.startswith(
        """invalid argument "12x" for "-m, --memory" flag: invalid suffix: 'x'\n""")
    small = d.cli("run", "-m", "4m", "busybox", "true")
    assert small.returncode == 125
    assert "Error response from daemon: Minimum memory limit allowed is 6MB" in small.stderr
    status, body = d.api("POST", "/containers/create", {
        "Image": "busybox", "Cmd": ["true"],
        "HostConfig": {"Memory": 16 * MiB, "MemorySwap": 8 * MiB}})
    assert status == 400 and "Minimum memoryswap limit should be larger" in str(body)
    assert ok(d.cli("ps", "-aq")) == ""  # nothing half-made

    hog = d.cli("run", "--name", "hog", "-m", "8m", "--memory-swap", "8m", "busybox",
                "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
    assert hog.returncode == 137
    doc = inspect(d, "hog")
    assert (doc["State"]["OOMKilled"], doc["State"]["ExitCode"]) == (True, 137)  # type: ignore[index]
    assert (doc["HostConfig"]["Memory"], doc["HostConfig"]["MemorySwap"]) == (  # type: ignore[index]
        8 * MiB, 8 * MiB)
    events = actions(d, "hog")
    assert events[-2:] == ["oom", "die"]  # Docker's order

    ok(d.cli("run", "-d", "--name", "fits", "-m", "64m", "busybox", "sleep", "60"))
    host = inspect(d, "fits")["HostConfig"]
    assert (host["Memory"], host["MemorySwap"]) == (64 * MiB, 128 * MiB)  # type: ignore[index]
    assert state(d, "fits")["OOMKilled"] is False


@pytest.mark.skipif(shutil.which("docker") is None, reason="the docker CLI is not installed")
def test_docker_cli_pause_and_memory(d: Daemon) -> None:
    ok(d.docker("run", "-d", "--name", "lim", "-m", "16m", "busybox", "sleep", "60"))
    assert ok(d.docker("inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}",
                       "lim")) == f"{16 * MiB} {32 * MiB}\n"
    assert ok(d.docker("pause", "lim")) == "lim\n"
    assert ok(d.docker("inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "lim")) == (
        "paused true\n")
    assert "(Paused)" in ok(d.docker("ps"))
    assert "is paused, unpause the container before exec" in d.docker(
        "exec", "lim", "true").stderr
    assert ok(d.docker("unpause", "lim")) == "lim\n"
    assert ok(d.docker("exec", "lim", "echo", "ok")) == "ok\n"
    ok(d.docker("rm", "-f", "lim"))
