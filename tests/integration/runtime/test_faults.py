"""Refused input and failed starts: a clear error and nothing left behind."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from dockyard.engine import Engine
from dockyard.errors import Conflict, DockyardError, InvalidParameter, NotFound
from dockyard.runtime import ContainerManager, ContainerSpec, StartError
from tests.integration.hosts import Host, snapshot, wait_for

pytestmark = pytest.mark.root


def residue(host: Host, manager: ContainerManager) -> dict[str, object]:
    """Everything a container could leave: links, netns, rules, rows, mounts, dirs, runc
    state, cgroups. Devices a rollback took down are deleted in the background, at the
    next quiet moment (kernel/reaper.py): what counts is what stays."""
    manager.engine.kernel.settle()
    state = snapshot(host)
    with open("/proc/self/mountinfo") as f:
        state["mounts"] = sorted(line.split()[4] for line in f if host.root in line)
    state["container_dirs"] = sorted(os.listdir(manager.container_dir("x")[:-2]))
    state["runc"] = manager.runc.list_ids()
    state["dyrun"] = manager.dyrun.list_ids()
    state["volumes"] = sorted(os.listdir(manager.volumes.root))
    state["cgroups"] = empty_cgroups()
    return state


def empty_cgroups() -> list[str]:
    """Container cgroups with no process in them: what a failed start could leak (other
    tests' running containers, on this machine at the same time, are left out)."""
    found = []
    for controller in ("pids", "devices"):
        base = f"/sys/fs/cgroup/{controller}"
        for name in os.listdir(base):
            path = os.path.join(base, name, "cgroup.procs")
            if name.startswith("dockyard-") and os.path.exists(path):
                with open(path) as f:
                    if not f.read().strip():
                        found.append(f"{controller}/{name}")
    return sorted(found)


def refused(host: Host, manager: ContainerManager, kind: type[DockyardError],
            action: Callable[[], object], match: str) -> DockyardError:
    before = residue(host, manager)
    with pytest.raises(kind, match=match) as info:
        action()
    after = residue(host, manager)
    cgroups_before = set(before.pop("cgroups"))  # type: ignore[call-overload]
    after.pop("cgroups")
    assert after == before
    # Cgroups are machine-wide: another test's container that just exited leaves an empty
    # one for a moment. A leak is one that stays.
    wait_for(lambda: not set(empty_cgroups()) - cgroups_before, what="no new empty cgroup")
    return info.value


def test_refused_creates_leave_nothing(host: Host, manager: ContainerManager,
                                       engine: Engine) -> None:
    def run(**kwargs: object) -> Callable[[], object]:
        spec = {"image": "busybox", "cmd": ("true",), **kwargs}
        return lambda: manager.run(ContainerSpec(**spec))  # type: ignore[arg-type]

    refused(host, manager, NotFound, run(image="nosuchimage"), "No such image")
    refused(host, manager, InvalidParameter, run(name="bad name"), "Invalid container name")
    refused(host, manager, InvalidParameter, run(binds=("relative:/x:zz",)), "invalid mode")
    refused(host, manager, InvalidParameter, run(binds=("/tmp:data",)), "must be absolute")
    refused(host, manager, InvalidParameter,
            run(mounts=("type=bind,source=/no/such/dir,target=/x",)),
            "bind source path does not exist")
    refused(host, manager, InvalidParameter, run(mounts=("type=volume,target=/",)),
            "destination can't be")
    refused(host, manager, InvalidParameter, run(restart="sometimes"), "restart policy")
    refused(host, manager, InvalidParameter, run(restart="always", auto_remove=True),
            "conflicting options")
    refused(host, manager, InvalidParameter, run(publish=("99999:80",)), "invalid")
    refused(host, manager, NotFound, run(network_mode="nosuchnet"), "nosuchnet")
    refused(host, manager, NotFound, run(network_mode="container:ghost"), "ghost")
    refused(host, manager, InvalidParameter, run(ipv4="10.1.1.1"), "user-defined")
    refused(host, manager, InvalidParameter, run(user="ghost", cmd=("true",)),
            "unable to find user")
    manager.create(ContainerSpec("busybox", name="taken", cmd=("true",)))
    refused(host, manager, Conflict, run(name="taken"), 'name "/taken" is already in use')


def test_command_not_found_127_and_not_executable_126(host: Host,
                                                      manager: ContainerManager) -> None:
    error = refused(host, manager, StartError,
                    lambda: manager.run(ContainerSpec("busybox", cmd=("nosuchcmd",))),
                    "executable file not found")
    assert isinstance(error, StartError) and error.exit_code == 127
    error = refused(host, manager, StartError,
                    lambda: manager.run(ContainerSpec("busybox", cmd=("/etc/passwd",))),
                    "permission denied")
    assert isinstance(error, StartError) and error.exit_code == 126


def test_failed_start_of_a_created_container_keeps_it_created(
        host: Host, manager: ContainerManager) -> None:
    c = manager.create(ContainerSpec("busybox", name="broken", cmd=("nosuchcmd",)))
    before = residue(host, manager)
    with pytest.raises(StartError):
        manager.start("broken")
    assert residue(host, manager)["mounts"] == before["mounts"]
    assert residue(host, manager)["links"] == before["links"]
    assert residue(host, manager)["runc"] == before["runc"]
    state = manager.inspect(c.id)["State"]
    assert (state["Status"], state["ExitCode"]) == ("created", 127)
    assert "executable file not found" in state["Error"]


def test_port_conflict_leaves_nothing(host: Host, manager: ContainerManager) -> None:
    manager.run(ContainerSpec("busybox", cmd=("sleep", "60"), publish=("8081:80",)))
    refused(host, manager, Conflict,
            lambda: manager.run(ContainerSpec("busybox", cmd=("sleep", "60"),
                                              publish=("8081:80",))),
            "8081")
