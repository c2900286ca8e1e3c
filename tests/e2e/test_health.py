"""Healthchecks through the daemon: our CLI's ``--health-*`` flags and ``ps`` STATUS,
docker-py's ``healthcheck=``, and the ``health`` list filter."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from tests.e2e.daemon import Daemon, ok

pytestmark = pytest.mark.root


def eventually(check: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def ps_status(d: Daemon, name: str) -> str:
    return ok(d.cli("ps", "-a", "--filter", f"name={name}", "--format", "{{.Status}}")).strip()


def test_cli_health_flags_ps_and_inspect(busybox: Daemon) -> None:
    d = busybox
    ok(d.cli("run", "-d", "--name", "web", "--health-cmd", "test -f /tmp/ready",
             "--health-interval", "200ms", "--health-retries", "1000", "busybox",
             "sleep", "600"))
    assert ps_status(d, "web").endswith("(health: starting)")
    ok(d.cli("exec", "web", "touch", "/tmp/ready"))
    eventually(lambda: ps_status(d, "web").endswith("(healthy)"), "ps to show (healthy)")
    assert ps_status(d, "web").startswith("Up ")
    doc = json.loads(ok(d.cli("inspect", "web")))[0]
    assert doc["Config"]["Healthcheck"]["Test"] == ["CMD-SHELL", "test -f /tmp/ready"]
    assert doc["Config"]["Healthcheck"]["Interval"] == 200_000_000
    assert doc["State"]["Health"]["Status"] == "healthy"
    assert doc["State"]["Health"]["Log"][-1]["ExitCode"] == 0
    assert ok(d.cli("inspect", "-f", "{{.State.Health.Status}}", "web")).strip() == "healthy"

    ok(d.cli("run", "-d", "--name", "sick", "--health-cmd", "exit 1", "--health-interval",
             "100ms", "--health-retries", "2", "busybox", "sleep", "600"))
    eventually(lambda: ps_status(d, "sick").endswith("(unhealthy)"), "(unhealthy)")
    healthy = ok(d.cli("ps", "--filter", "health=healthy", "--format", "{{.Names}}")).split()
    assert healthy == ["web"]

    result = d.cli("run", "-d", "--no-healthcheck", "--health-cmd", "true", "busybox")
    assert result.returncode != 0
    assert "--no-healthcheck conflicts with --health-* options" in result.stderr


def test_dockerpy_healthcheck(busybox: Daemon) -> None:
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=busybox.url, version="auto")
    try:
        container = client.containers.run(
            "busybox", ["sh", "-c", "sleep 0.5; touch /tmp/ok; exec sleep 600"], detach=True,
            name="py", healthcheck={"test": ["CMD", "test", "-f", "/tmp/ok"],
                                    "interval": 100_000_000, "retries": 100})

        def status() -> str:
            container.reload()
            return str(container.attrs["State"]["Health"]["Status"])

        assert status() in ("starting", "healthy")
        eventually(lambda: status() == "healthy", "docker-py to see healthy")
        assert container.attrs["Config"]["Healthcheck"]["Retries"] == 100
    finally:
        client.close()
