"""Containers on real namespaces with the busybox image: what runs, how it stops."""

from __future__ import annotations

import os
import signal
import time

import pytest

from dockyard.errors import Conflict, InvalidParameter, NotFound
from dockyard.kernel.initbin import init_compiler
from dockyard.runtime import ContainerManager, ContainerSpec
from tests.integration.hosts import wait_for

pytestmark = pytest.mark.root


def output(manager: ContainerManager, ref: str) -> str:
    return "".join(r.data for r in manager.logs(ref))


def test_run_a_command_read_output_and_exit_code(manager: ContainerManager) -> None:
    c = manager.run(ContainerSpec("busybox", name="hello",
                                  cmd=("sh", "-c", "echo out; echo err >&2; exit 3")))
    assert manager.wait(c.id, timeout=10) == 3
    records = list(manager.logs("hello"))
    assert [(r.stream, r.data) for r in records] == [("stdout", "out\n"), ("stderr", "err\n")]
    assert all(r.time.endswith("Z") and "T" in r.time for r in records)
    doc = manager.inspect("hello")
    assert doc["Name"] == "/hello"
    assert doc["State"]["Status"] == "exited"
    assert doc["State"]["ExitCode"] == 3
    assert doc["State"]["FinishedAt"] >= doc["State"]["StartedAt"]
    assert doc["Path"] == "sh" and doc["Args"] == ["-c", "echo out; echo err >&2; exit 3"]


def test_env_workdir_user_hostname(manager: ContainerManager) -> None:
    c = manager.run(ContainerSpec(
        "busybox", cmd=("sh", "-c", "echo $GREETING; pwd; id -u; id -g; hostname; "
                        "cat /etc/hostname"),
        env=("GREETING=hi there",), workdir="/var/work", user="nobody", hostname="box1"))
    assert manager.wait(c.id, timeout=10) == 0
    assert output(manager, c.id).splitlines() == [
        "hi there", "/var/work", "65534", "65534", "box1", "box1"]


def test_ids_short_ids_and_prefix_lookup(manager: ContainerManager) -> None:
    c = manager.create(ContainerSpec("busybox", cmd=("true",)))
    assert len(c.id) == 64 and all(ch in "0123456789abcdef" for ch in c.id)
    assert manager.get(c.id[:12]).id == c.id
    assert manager.get(c.id[:5]).id == c.id
    assert manager.get("/" + c.name).id == c.id
    assert manager.inspect(c.id)["State"]["Status"] == "created"
    assert manager.inspect(c.id)["Config"]["Hostname"] == c.id[:12]
    with pytest.raises(NotFound):
        manager.get("nosuchthing")


def test_a_short_id_is_found_without_reading_every_container(
        manager: ContainerManager, monkeypatch: pytest.MonkeyPatch) -> None:
    """`docker rm -f $(docker ps -aq)` looks up each 12-character id: reading and parsing
    every container's document for each made that O(n²)."""
    # 17 ids: two of them share a first hex digit, for the ambiguous prefix below.
    made = [manager.create(ContainerSpec("busybox", cmd=("true",))) for _ in range(17)]
    read: list[str] = []
    get = manager.store.get

    def counting_get(kind: str, key: str) -> object:
        read.append(key)
        return get(kind, key)

    monkeypatch.setattr(manager.store, "get", counting_get)
    monkeypatch.setattr(manager.store, "list", lambda kind: pytest.fail("read every row"))
    for c in made:
        assert manager.get(c.id[:12]).id == c.id
    # The id as a key, as a name, then the one document the prefix found.
    assert len(read) <= 3 * len(made)
    firsts = [c.id[0] for c in made]
    shared = next(ch for ch in firsts if firsts.count(ch) > 1)
    with pytest.raises(InvalidParameter, match="multiple IDs found"):
        manager.get(shared)


def test_logs_readable_while_running_and_followed(manager: ContainerManager) -> None:
    c = manager.run(ContainerSpec("busybox", cmd=(
        "sh", "-c", "echo first; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo second")))
    wait_for(lambda: "first\n" in output(manager, c.id), what="first line while running")
    assert manager.inspect(c.id)["State"]["Running"]
    assert manager.exec(c.id, ["touch", "/tmp/go"]).exit_code == 0
    followed = [r.data for r in manager.logs(c.id, follow=True)]
    assert followed == ["first\n", "second\n"]
    assert manager.inspect(c.id)["State"]["Status"] == "exited"


def test_exec_in_the_running_container(manager: ContainerManager) -> None:
    c = manager.run(ContainerSpec("busybox", cmd=("sleep", "60"), env=("COLOUR=blue",),
                                  workdir="/tmp", hostname="execbox"))
    result = manager.exec(c.id, ["sh", "-c", "echo $COLOUR; pwd; hostname; exit 4"])
    assert result.exit_code == 4
    assert result.stdout.decode().splitlines() == ["blue", "/tmp", "execbox"]
    # The same PID namespace: the container's command is visible.
    assert "sleep 60" in manager.exec(c.id, ["ps"]).stdout.decode()
    assert manager.exec(c.id, ["id", "-u"], user="nobody").stdout == b"65534\n"
    assert manager.exec(c.id, ["nosuchcommand"]).exit_code == 127
    assert manager.exec(c.id, ["/etc/passwd"]).exit_code == 126
    assert any("sleep 60" in cmd for _, cmd in manager.top(c.id))


def test_stop_kills_a_process_ignoring_sigterm_after_the_timeout(
        manager: ContainerManager) -> None:
    c = manager.run(ContainerSpec("busybox", cmd=(
        "sh", "-c", "trap '' TERM; echo ready; sleep 60 & wait; sleep 60")))
    wait_for(lambda: "ready" in output(manager, c.id), what="trap installed")
    stopped = manager.stop(c.id, timeout=1)
    assert stopped.state.status == "exited"
    assert stopped.state.exit_code == 128 + signal.SIGKILL
    # With an init (--init), which passes SIGTERM on, a plain process ends with it before
    # the timeout.
    d = manager.run(ContainerSpec("busybox", cmd=("sleep", "60"), init=True))
    assert manager.stop(d.id, timeout=30).state.exit_code == 128 + signal.SIGTERM


def test_a_command_run_as_pid_1_ignores_sigterm_as_in_docker(
        manager: ContainerManager) -> None:
    """Without an init the command is PID 1, and the kernel gives PID 1 no signal it has
    no handler for: ``sleep`` outlives the stop signal and is killed at the timeout."""
    if manager.runtime.name == "runc":
        pytest.skip("under runc every container has dyinit as PID 1")
    c = manager.run(ContainerSpec("busybox", cmd=("sleep", "60")))
    begun = time.monotonic()
    assert manager.stop(c.id, timeout=1).state.exit_code == 128 + signal.SIGKILL
    assert time.monotonic() - begun >= 1


def test_kill_with_a_signal_and_restart(manager: ContainerManager) -> None:
    c = manager.run(ContainerSpec("busybox", cmd=(
        "sh", "-c", "trap 'echo got-usr1' USR1; while true; do sleep 0.05; done")))
    wait_for(lambda: manager.exec(c.id, ["true"]).exit_code == 0, what="running")
    wait_for(lambda: "sh -c" in " ".join(cmd for _, cmd in manager.top(c.id)), what="sh")
    manager.kill(c.id, "USR1")
    wait_for(lambda: "got-usr1" in output(manager, c.id), what="USR1 delivered")
    first_pid = manager.inspect(c.id)["State"]["Pid"]
    restarted = manager.restart(c.id, timeout=1)
    assert restarted.state.status == "running" and restarted.state.pid != first_pid
    manager.kill(c.id)
    assert manager.wait(c.id, timeout=10) == 137
    with pytest.raises(Conflict):
        manager.kill(c.id)


def test_rename_remove_and_list(manager: ContainerManager) -> None:
    a = manager.run(ContainerSpec("busybox", name="aa", cmd=("sleep", "60")))
    manager.create(ContainerSpec("busybox", name="bb", cmd=("true",)))
    assert [i["Names"] for i in manager.list()] == [["/aa"]]
    assert sorted(i["Names"][0] for i in manager.list(all=True)) == ["/aa", "/bb"]
    with pytest.raises(Conflict):
        manager.rename("aa", "bb")
    manager.rename("aa", "renamed")
    assert manager.get("renamed").id == a.id
    with pytest.raises(Conflict):
        manager.remove("renamed")  # running
    manager.remove("renamed", force=True)
    with pytest.raises(NotFound):
        manager.get(a.id)
    assert not os.path.exists(manager.container_dir(a.id))


def test_on_failure_2_is_retried_twice_then_stays_stopped(manager: ContainerManager) -> None:
    c = manager.run(ContainerSpec("busybox", cmd=("sh", "-c", "echo run; exit 1"),
                                  restart="on-failure:2"))
    wait_for(lambda: output(manager, c.id).count("run") == 3
             and manager.inspect(c.id)["State"]["Status"] == "exited",
             timeout=10, what="three runs")
    doc = manager.inspect(c.id)
    assert doc["RestartCount"] == 2
    assert doc["State"]["ExitCode"] == 1
    assert doc["HostConfig"]["RestartPolicy"] == {"Name": "on-failure",
                                                  "MaximumRetryCount": 2}


def test_always_brings_a_killed_process_back(manager: ContainerManager) -> None:
    c = manager.run(ContainerSpec("busybox", cmd=("sleep", "60"), restart="always"))
    pid = manager.inspect(c.id)["State"]["Pid"]
    os.kill(pid, signal.SIGKILL)  # from outside, not through the manager
    wait_for(lambda: manager.inspect(c.id)["State"]["Running"]
             and manager.inspect(c.id)["State"]["Pid"] not in (0, pid),
             timeout=10, what="restart")
    assert manager.inspect(c.id)["RestartCount"] == 1
    # a manual stop is not undone by the policy
    manager.stop(c.id, timeout=1)
    assert manager.inspect(c.id)["State"]["Status"] == "exited"


def test_auto_remove(manager: ContainerManager) -> None:
    c = manager.run(ContainerSpec("busybox", cmd=("true",), auto_remove=True))
    manager.wait(c.id, condition="removed", timeout=10)
    with pytest.raises(NotFound):
        manager.get(c.id)


def test_names_freed_by_rename_and_remove_and_index_rebuilt(
        manager: ContainerManager) -> None:
    a = manager.create(ContainerSpec("busybox", name="first", cmd=("true",)))
    manager.rename("first", "second")
    b = manager.create(ContainerSpec("busybox", name="first", cmd=("true",)))
    assert manager.get("first").id == b.id and manager.get("/second").id == a.id
    manager.remove("first")
    assert manager.create(ContainerSpec("busybox", name="first", cmd=("true",))).id != b.id
    # a store written before the name index existed: the next manager rebuilds it
    with manager.store.transaction() as txn:
        for doc in txn.list("container-name"):
            txn.delete("container-name", doc["name"])
    again = ContainerManager(manager.engine, manager.images, init_binary=manager.init_binary,
                             dyrun_binary=manager.dyrun.binary)
    with pytest.raises(Conflict):
        again.create(ContainerSpec("busybox", name="second", cmd=("true",)))
    assert again.get("second").id == a.id


def test_the_writable_layer_holds_only_what_the_container_wrote(
        manager: ContainerManager) -> None:
    c = manager.run(ContainerSpec("busybox", cmd=(
        "sh", "-c", "cat /etc/hostname /etc/resolv.conf > /dev/null && echo x > /tmp/mine")))
    assert manager.wait(c.id, timeout=10) == 0
    upper = os.path.join(manager.container_dir(c.id), "upper")
    # The mount points of /etc/hosts, /etc/hostname, /etc/resolv.conf and the init come
    # from a shared layer, not from a copy-up into each container's own.
    found = sorted(os.path.relpath(os.path.join(d, f), upper)
                   for d, dirs, files in os.walk(upper) for f in files + dirs)
    assert found == ["tmp", "tmp/mine"]


def test_a_container_after_a_removed_one_starts_from_nothing_of_it(
        manager: ContainerManager) -> None:
    """Removed containers' trees are kept for the next ones (dockyard/spares.py): the next
    container must not see a file, a mode, a log line or an /etc entry of the last one."""
    first = manager.run(ContainerSpec("busybox", name="first", hostname="first", cmd=(
        "sh", "-c", "echo secret > /secret && chmod 700 / && echo first-output")))
    assert manager.wait(first.id, timeout=10) == 0
    manager.remove(first.id)
    second = manager.run(ContainerSpec("busybox", name="second", cmd=(
        "sh", "-c", "ls /secret 2>&1; stat -c %a /; cat /etc/hostname")))
    assert manager.wait(second.id, timeout=10) == 0
    lines = output(manager, second.id).splitlines()
    assert "No such file or directory" in lines[0]
    assert lines[1:] == ["755", second.id[:12]]
    assert not any("first" in line for line in lines)


def test_an_idle_containers_init_keeps_little_private_memory(
        manager: ContainerManager) -> None:
    """The init lives as long as its container, so what it keeps resident is paid once per
    container: its 2 × 16 KiB log buffers must stay untouched until output arrives, and a
    musl build skips glibc's static start-up heap."""
    c = manager.run(ContainerSpec("busybox", cmd=("sleep", "60"), init=True))
    pid = manager.inspect(c.id)["State"]["Pid"]
    with open(f"/proc/{pid}/smaps_rollup") as f:
        private_kib = next(int(line.split()[1]) for line in f if line.startswith("Anonymous:"))
    limit = 24 if init_compiler() == "musl-gcc" else 64  # measured: 16 and 60
    assert private_kib <= limit, f"{private_kib} KiB of anonymous memory in the idle init"
