"""Pause/unpause (a freezer made at pause time) and memory limits (a memory group made at
start, only for a container that asks for one), under both runtimes, on real busybox
containers."""

from __future__ import annotations

import os
import time

import pytest

from dockyard.engine import Engine
from dockyard.errors import Conflict, InvalidParameter, NotFound
from dockyard.kernel import cgroups
from dockyard.kernel.process import pid_namespace_members
from dockyard.runtime import ContainerManager, ContainerSpec
from tests.integration.hosts import Host, wait_for
from tests.integration.runtime.conftest import finish, make_manager

pytestmark = pytest.mark.root

MiB = 1024 * 1024
# A writer and a forked child writer: both must stop while paused.
COUNTERS = ("(while :; do echo y >> /tmp/child; sleep 0.01; done) & "
            "while :; do echo x >> /tmp/f; sleep 0.01; done")
QUIET = 0.3  # seconds a frozen counter is watched for not moving


def freezer(container_id: str) -> str:
    return cgroups.group_path(cgroups.FREEZER_ROOT, container_id)


def lines(manager: ContainerManager, container_id: str, name: str) -> int:
    path = os.path.join(manager.container_dir(container_id), "rootfs", "tmp", name)
    try:
        with open(path) as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def live_members(init_pid: int) -> set[int]:
    """The container's processes but zombies (a frozen parent cannot collect its child's
    exit, and the kernel moves no zombie into a group)."""
    live = set()
    for pid in pid_namespace_members(init_pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                    live.add(pid)
        except OSError:
            pass
    return live


def state(manager: ContainerManager, ref: str) -> dict[str, object]:
    doc = manager.inspect(ref)["State"]
    assert isinstance(doc, dict)
    return doc


def test_pause_freezes_every_process_and_unpause_resumes(manager: ContainerManager) -> None:
    c = manager.run(ContainerSpec("busybox", name="counter", cmd=("sh", "-c", COUNTERS),
                                  init=True))
    wait_for(lambda: lines(manager, c.id, "f") > 3 and lines(manager, c.id, "child") > 3,
             what="both counters running")

    manager.pause("counter")
    doc = state(manager, "counter")
    assert (doc["Status"], doc["Running"], doc["Paused"]) == ("paused", True, True)
    with open(os.path.join(freezer(c.id), "freezer.state")) as f:
        assert f.read().strip() == "FROZEN"
    assert live_members(c.state.pid) <= set(cgroups.procs(freezer(c.id)))
    before = (lines(manager, c.id, "f"), lines(manager, c.id, "child"))
    time.sleep(QUIET)  # a frozen counter shows itself only by not moving
    assert (lines(manager, c.id, "f"), lines(manager, c.id, "child")) == before

    with pytest.raises(Conflict, match="Container counter is paused, unpause the container "
                                       "before exec"):
        manager.exec("counter", ["true"])
    with pytest.raises(Conflict, match=f"Container {c.id} is already paused"):
        manager.pause("counter")
    with pytest.raises(Conflict, match="cannot start a paused container, try unpause instead"):
        manager.start("counter")
    with pytest.raises(Conflict, match="container is paused and must be unpaused first"):
        manager.remove("counter")

    manager.unpause("counter")
    doc = state(manager, "counter")
    assert (doc["Status"], doc["Running"], doc["Paused"]) == ("running", True, False)
    wait_for(lambda: lines(manager, c.id, "f") > before[0] + 3
             and lines(manager, c.id, "child") > before[1] + 3, what="counters resumed")
    with pytest.raises(Conflict, match=f"Container {c.id} is not paused"):
        manager.unpause("counter")
    assert manager.exec("counter", ["true"]).exit_code == 0

    manager.pause("counter")  # a second pause finds everything already in the group
    manager.unpause("counter")
    assert manager.stop("counter", timeout=5).state.exit_code == 143
    assert not os.path.exists(freezer(c.id))
    with pytest.raises(Conflict, match=f"Container {c.id} is not running"):
        manager.pause("counter")


def test_stop_kill_and_remove_of_a_paused_container(manager: ContainerManager) -> None:
    stopped = manager.run(ContainerSpec("busybox", name="stopped", cmd=("sleep", "60"),
                                        init=True))
    manager.pause("stopped")
    begun = time.monotonic()
    # Thawed before the stop signal is delivered: SIGTERM ends it (143), well before the
    # timeout would have sent SIGKILL (137).
    assert manager.stop("stopped", timeout=10).state.exit_code == 143
    assert time.monotonic() - begun < 5
    assert state(manager, "stopped")["Paused"] is False
    assert not os.path.exists(freezer(stopped.id))

    killed = manager.run(ContainerSpec("busybox", name="killed", cmd=("sleep", "60")))
    manager.pause("killed")
    manager.kill("killed", "SIGKILL")
    assert manager.wait("killed", timeout=10) == 137
    assert state(manager, "killed")["Status"] == "exited"
    assert not os.path.exists(freezer(killed.id))

    # A signal that is not the container's stop signal leaves it paused (Docker's rule).
    hup = manager.run(ContainerSpec("busybox", name="hup", stop_signal="SIGUSR1",
                                    cmd=("sleep", "60")))
    manager.pause("hup")
    manager.kill("hup", "SIGHUP")
    assert state(manager, "hup")["Paused"] is True
    assert cgroups.frozen(hup.id)

    removed = manager.run(ContainerSpec("busybox", name="removed", cmd=("sleep", "60")))
    manager.pause("removed")
    init = removed.state.pid
    manager.remove("removed", force=True)
    with pytest.raises(NotFound):
        manager.get("removed")
    assert not os.path.exists(freezer(removed.id))
    assert not os.path.exists(f"/proc/{init}")


def test_a_paused_container_stays_paused_across_a_manager_restart(
        engine: Engine, host: Host, init_binary: str, dyrun_binary: str, runtime: str) -> None:
    first = make_manager(engine, host, init_binary, runtime, dyrun_binary)
    second = None
    try:
        c = first.run(ContainerSpec("busybox", name="frozen", cmd=("sh", "-c", COUNTERS)))
        wait_for(lambda: lines(first, c.id, "f") > 3, what="counter running")
        first.pause("frozen")
        first.close()
        second = make_manager(engine, host, init_binary, runtime, dyrun_binary)
        doc = state(second, "frozen")
        assert (doc["Status"], doc["Paused"], doc["Pid"]) == ("paused", True, c.state.pid)
        counted = lines(second, c.id, "f")
        time.sleep(QUIET)
        assert lines(second, c.id, "f") == counted
        second.unpause("frozen")
        wait_for(lambda: lines(second, c.id, "f") > counted + 3, what="counter resumed")
    finally:
        finish(first, second,
               lambda: make_manager(engine, host, init_binary, runtime, dyrun_binary))


def test_memory_limit_applies_to_the_command_and_its_children(
        manager: ContainerManager) -> None:
    c = manager.run(ContainerSpec("busybox", name="limited", memory=8 * MiB,
                                  cmd=("sh", "-c", "sleep 60 & wait")))
    group = cgroups.memory_path(c.id)
    with open(os.path.join(group, "memory.limit_in_bytes")) as f:
        assert int(f.read()) == 8 * MiB
    with open(os.path.join(group, "memory.memsw.limit_in_bytes")) as f:
        assert int(f.read()) == 16 * MiB  # Docker's default: as much swap as memory
    assert live_members(c.state.pid) <= set(cgroups.procs(group))
    assert f"memory:/dockyard-{c.id}" in manager.exec(
        "limited", ["cat", "/proc/self/cgroup"]).stdout.decode()
    host_config = manager.inspect("limited")["HostConfig"]
    assert (host_config["Memory"], host_config["MemorySwap"]) == (8 * MiB, 16 * MiB)
    manager.remove("limited", force=True)
    assert not os.path.exists(group)


def test_oom_kill_is_reported(manager: ContainerManager) -> None:
    # dd's 64 MiB buffer cannot fit in 8 MiB: the kernel's OOM killer ends the command.
    c = manager.run(ContainerSpec("busybox", name="hog", memory=8 * MiB, memory_swap=8 * MiB,
                                  cmd=("dd", "if=/dev/zero", "of=/dev/null", "bs=64M",
                                       "count=1")))
    assert manager.wait("hog", timeout=20) == 137
    doc = state(manager, "hog")
    assert (doc["Status"], doc["ExitCode"], doc["OOMKilled"]) == ("exited", 137, True)
    assert not os.path.exists(cgroups.memory_path(c.id))
    # A start forgets the last run's OOM kill, as Docker's does.
    manager.remove("hog")
    fits = manager.run(ContainerSpec("busybox", name="fits", memory=8 * MiB,
                                     cmd=("sh", "-c", "x=$(head -c 1m /dev/zero | tr '\\0' a)")))
    assert manager.wait("fits", timeout=20) == 0
    assert state(manager, "fits")["OOMKilled"] is False
    assert state(manager, "fits")["ExitCode"] == 0
    assert not os.path.exists(cgroups.memory_path(fits.id))


def test_no_limit_no_memory_group_and_bad_limits_refused(manager: ContainerManager) -> None:
    c = manager.run(ContainerSpec("busybox", name="free", cmd=("sleep", "60")))
    if c.state.runtime == "dyrun":  # runc makes every controller's group regardless
        assert not os.path.exists(cgroups.memory_path(c.id))
    with pytest.raises(InvalidParameter, match="Minimum memory limit allowed is 6MB"):
        manager.create(ContainerSpec("busybox", name="tiny", memory=4 * MiB))
    with pytest.raises(InvalidParameter, match="Minimum memoryswap limit should be larger "
                                               "than memory limit"):
        manager.create(ContainerSpec("busybox", name="swap", memory=8 * MiB,
                                     memory_swap=7 * MiB))
    assert [x.name for x in manager.containers()] == ["free"]  # nothing half-made
