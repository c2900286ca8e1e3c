"""Containers without an init (Docker's default, dyrun's way): the command is PID 1 and
one dymon process logs, reaps and records every such container, also while no manager
runs, and goes when the last of them has gone."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator

import pytest

from dockyard.engine import Engine
from dockyard.runtime import ContainerManager, ContainerSpec
from tests.integration.hosts import Host, wait_for
from tests.integration.runtime.conftest import finish, make_manager

pytestmark = pytest.mark.root


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("PPid:"))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


def processes_in_pid_namespace_of(pid: int) -> int:
    ns = os.readlink(f"/proc/{pid}/ns/pid")
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):  # gone meanwhile
                count += os.readlink(f"/proc/{entry}/ns/pid") == ns
    return count


def records(manager: ContainerManager, ref: str) -> list[tuple[str, str]]:
    return [(r.stream, r.data) for r in manager.logs(ref)]


@pytest.fixture
def manager(engine: Engine, host: Host, init_binary: str, dyrun_binary: str
            ) -> Iterator[dict[str, ContainerManager]]:
    """The test's latest manager under "manager" (a test may replace it: a restart)."""
    holder = {"manager": make_manager(engine, host, init_binary, "dyrun", dyrun_binary)}
    yield holder
    finish(holder["manager"], None,
           lambda: make_manager(engine, host, init_binary, "dyrun", dyrun_binary))


def test_one_monitor_logs_and_reaps_every_container(manager: dict[str, ContainerManager]
                                                     ) -> None:
    m = manager["manager"]
    script = ("echo out-$N; echo err-$N >&2; head -c 40000 /dev/zero | tr '\\0' a; echo; "
              "printf partial; exec sleep 60")
    started = [m.run(ContainerSpec("busybox", name=f"box{n}", cmd=("sh", "-c", script),
                                   env=(f"N={n}",))) for n in range(3)]
    for n, c in enumerate(started):
        wait_for(lambda c=c: len(records(m, c.id)) >= 5, what=f"c{n}'s output logged")
        # two pipes: each stream's records in order, the two interleaved as read
        out = [data for stream, data in records(m, c.id) if stream == "stdout"]
        err = [data for stream, data in records(m, c.id) if stream == "stderr"]
        assert out[0] == f"out-{n}\n" and err == [f"err-{n}\n"]
        # a 40 000-byte line in 16 KiB records, as Docker's json-file splits it
        assert [len(data) for data in out[1:4]] == [16384, 16384, 40001 - 2 * 16384]
        # no init: the command is the only process of its PID namespace
        assert processes_in_pid_namespace_of(c.state.pid) == 1
    monitors = {parent_of(c.state.pid) for c in started}
    assert len(monitors) == 1
    (monitor,) = monitors
    with open(f"/proc/{monitor}/comm") as f:
        assert f.read().startswith("dymon")
    m.kill("box1")
    assert m.wait("box1", timeout=10) == 128 + signal.SIGKILL
    # the unfinished last line is logged when the command ends
    assert records(m, "box1")[-1] == ("stdout", "partial")
    with open(os.path.join(m.container_dir(started[1].id), "exit-status")) as f:
        assert f.read() == "exit 137\n"
    assert alive(monitor)


def test_the_monitor_logs_and_records_while_no_manager_runs(
        manager: dict[str, ContainerManager], engine: Engine, host: Host, init_binary: str,
        dyrun_binary: str) -> None:
    first = manager["manager"]
    c = first.run(ContainerSpec("busybox", name="quitter", cmd=(
        "sh", "-c", "echo before; while [ ! -e /tmp/go ]; do sleep 0.05; done; "
                    "echo after; exit 4")))
    wait_for(lambda: records(first, c.id) == [("stdout", "before\n")], what="first line")
    monitor = parent_of(c.state.pid)
    first.close()
    assert alive(monitor)  # a container runs: dymon stays
    assert first.exec(c.id, ["touch", "/tmp/go"]).exit_code == 0
    status = os.path.join(first.container_dir(c.id), "exit-status")
    wait_for(lambda: os.path.getsize(status) > 0, what="exit recorded with no manager")
    with open(status) as f:
        assert f.read() == "exit 4\n"
    second = make_manager(engine, host, init_binary, "dyrun", dyrun_binary)
    manager["manager"] = second
    state = second.inspect("quitter")["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 4)
    assert records(second, "quitter") == [("stdout", "before\n"), ("stdout", "after\n")]
    second.close()  # nothing runs: dymon goes with it
    wait_for(lambda: not alive(monitor), what="dymon gone")


def test_a_monitor_that_dies_leaves_its_containers_running_and_watched(
        manager: dict[str, ContainerManager]) -> None:
    m = manager["manager"]
    c = m.run(ContainerSpec("busybox", name="sleeper", cmd=("sleep", "60")))
    monitor = parent_of(c.state.pid)
    os.kill(monitor, signal.SIGKILL)  # ours: the manager started it
    # The manager, a subreaper above dymon, gets the command as its child.
    wait_for(lambda: parent_of(c.state.pid) == os.getpid(), what="command re-parented")
    assert m.inspect("sleeper")["State"]["Running"]
    assert m.stop("sleeper", timeout=1).state.exit_code == 128 + signal.SIGKILL
    # The next start brings a new dymon up.
    d = m.run(ContainerSpec("busybox", name="again", cmd=("sh", "-c", "echo again")))
    assert m.wait(d.id, timeout=10) == 0
    assert records(m, "again") == [("stdout", "again\n")]
    assert parent_of(m.run(ContainerSpec("busybox", cmd=("sleep", "60"))).state.pid) != monitor
