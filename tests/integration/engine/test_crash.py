"""A process killed in the middle of a change leaves state the next start reconciles."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tests.integration.hosts import Host, snapshot

pytestmark = pytest.mark.root

# Runs in a child process: an engine whose kernel SIGKILLs the process right after the
# N-th kernel step of the operation, i.e. with the kernel half-changed and the store
# saying "creating". Nothing in the engine is patched; the kernel is a subclass.
CHILD = textwrap.dedent("""
    import os, signal, sys
    from dockyard.engine import Engine, EngineConfig
    from dockyard.kernel.linux import LinuxKernel
    from dockyard.store import SqliteStore

    netns, root, exec_root, resolv, op, kill_after = sys.argv[1:7]

    class DyingKernel(LinuxKernel):
        armed = False
        count = 0

        def _apply_one(self, step):
            super()._apply_one(step)
            if self.armed:
                self.count += 1
                if self.count >= int(kill_after):
                    os.kill(os.getpid(), signal.SIGKILL)

    kernel = DyingKernel(netns)
    config = EngineConfig(root=root, exec_root=exec_root, host_resolv_conf=resolv)
    engine = Engine(config, SqliteStore(root), kernel)
    kernel.armed = True
    if op == "network":
        engine.create_network("doomed")
    elif op == "sandbox":
        engine.create_sandbox("doomed")
    elif op == "connect":
        engine.connect("kept", "box")
    elif op == "remove":  # removals done, their devices' deletion still in the background
        kernel.armed = False
        kernel._reaper._quiet = 30.0  # no stall of this process lets a deletion in first
        engine.create_network("gone")
        engine.create_sandbox("passing")
        engine.connect("gone", "passing")
        engine.connect("kept", "box")
        engine.disconnect("kept", "box")
        engine.remove_sandbox("passing")
        engine.remove_network("gone")
        os.kill(os.getpid(), signal.SIGKILL)
    print("survived")
""")


def _run_child(host: Host, op: str, kill_after: int) -> int:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, host.netns, host.root, host.exec_root,
         os.path.join(host.root, "host-resolv.conf"), op, str(kill_after)],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    return result.returncode


@pytest.mark.parametrize("op, kill_after", [("network", 1), ("network", 2), ("sandbox", 1),
                                            ("connect", 1)])
def test_killed_mid_change_is_reconciled(host: Host, op: str, kill_after: int) -> None:
    engine = host.engine()
    engine.create_network("kept")
    engine.create_sandbox("box")
    engine.close()
    before = snapshot(host)

    assert _run_child(host, op, kill_after) == -signal.SIGKILL
    half_done = snapshot(host)
    assert half_done != before, "the kill should have left something half-made"
    assert any("creating" in row[2] for row in half_done["rows"])  # type: ignore[union-attr]

    engine = host.engine()  # open() reconciles
    try:
        after = snapshot(host)
        assert after["links"] == before["links"]
        assert after["netns"] == before["netns"]
        assert after["rows"] == before["rows"]
        assert after["ruleset"] == before["ruleset"]
        # And the same request now succeeds from scratch.
        if op == "network":
            assert engine.create_network("doomed").state == "ready"
        elif op == "sandbox":
            assert engine.create_sandbox("doomed").state == "ready"
        else:
            assert engine.connect("kept", "box").ipv4 == "172.18.0.2/16"
    finally:
        engine.close()


def test_killed_before_background_deletions_ran_is_reconciled(host: Host) -> None:
    """Removed devices are deleted at a quiet moment after the request (kernel/reaper.py);
    a kill before then leaves them down on the host, and the next start deletes them."""
    engine = host.engine()
    engine.create_network("kept")
    engine.create_sandbox("box")
    engine.close()
    before = snapshot(host)

    assert _run_child(host, "remove", 0) == -signal.SIGKILL
    left = snapshot(host)
    left_links, links_before = left["links"], before["links"]
    assert isinstance(left_links, list) and isinstance(links_before, list)
    assert len(left_links) > len(links_before), "the deletions ran before the kill"
    assert left["rows"] == before["rows"]  # the store already says they are gone

    engine = host.engine()
    try:
        after = snapshot(host)
        assert after["links"] == before["links"]
        assert after["netns"] == before["netns"]
        assert after["ruleset"] == before["ruleset"]
    finally:
        engine.close()
