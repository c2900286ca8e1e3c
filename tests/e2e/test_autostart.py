"""No daemon on the default socket: the CLI starts one in the background and says so."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

import pytest

from tests.e2e.daemon import DOCKYARD
from tests.integration.hosts import make_host, wait_for

pytestmark = pytest.mark.root


def test_cli_starts_a_daemon_on_the_default_socket() -> None:
    with make_host() as host:
        base = os.path.dirname(host.root)
        env = dict(os.environ, DOCKYARD_EXEC_ROOT=os.path.join(base, "auto-run"),
                   DOCKYARD_ROOT=os.path.join(base, "auto-state"))
        env.pop("DOCKER_HOST", None)
        pid_file = os.path.join(base, "auto-run", "dockyard.pid")
        try:
            first = subprocess.run(["nsenter", f"--net={host.netns}", DOCKYARD, "network",
                                    "ls", "--format", "{{.Name}}"],
                                   capture_output=True, text=True, timeout=60, env=env)
            assert first.returncode == 0, first.stderr
            assert "started one in the background" in first.stderr
            assert first.stdout.split() == ["bridge", "host", "none"]
            second = subprocess.run(["nsenter", f"--net={host.netns}", DOCKYARD, "network",
                                     "ls", "-q"], capture_output=True, text=True, timeout=60,
                                    env=env)
            assert second.returncode == 0 and second.stderr == ""  # the same daemon answers
        finally:
            if os.path.exists(pid_file):
                with open(pid_file) as f:
                    pid = int(f.read())
                os.kill(pid, signal.SIGTERM)
                wait_for(lambda: _gone(pid), timeout=20,
                         what="the background daemon to stop")


def test_explicit_host_never_starts_a_daemon(tmp_path: object) -> None:
    socket = os.path.join(str(tmp_path), "none.sock")
    result = subprocess.run([DOCKYARD, "-H", f"unix://{socket}", "network", "ls"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert result.stderr.startswith(f"Cannot connect to the Dockyard daemon at unix://{socket}")
    assert not os.path.exists(socket)


def _gone(pid: int) -> bool:
    """The daemon has exited. If this test process became a child subreaper (a container
    manager in an earlier test makes it one), the orphaned daemon is our zombie: reap it."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    return not os.path.exists(f"/proc/{pid}")
