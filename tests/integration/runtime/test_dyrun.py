"""dyrun specifics: its cgroup device policy, and containers of both runtimes under one
manager (a container keeps the runtime that started it)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dockyard.engine import Engine
from dockyard.errors import InvalidParameter
from dockyard.images.store import ImageStore
from dockyard.kernel.lean import make_mount_template
from dockyard.runtime import ContainerManager, ContainerSpec
from tests.integration.hosts import Host, wait_for
from tests.integration.runtime.conftest import finish, make_manager, remove_all

pytestmark = pytest.mark.root


def test_cgroup_device_policy(engine: Engine, host: Host, init_binary: str,
                              dyrun_binary: str) -> None:
    if not os.path.exists("/sys/fs/cgroup/devices/devices.allow"):
        pytest.skip("no cgroup v1 devices controller")
    images = ImageStore(host.root, engine.store)
    make_manager(engine, host, init_binary, "dyrun", dyrun_binary).close()  # the image
    manager = ContainerManager(engine, images, init_binary=init_binary, host_netns=host.netns,
                               runtime="dyrun", dyrun_binary=dyrun_binary,
                               dyrun_devices="cgroup").open()
    try:
        c = manager.run(ContainerSpec("busybox", cmd=("sh", "-c", (
            "mknod /dev/disk b 7 0 && echo made; head -c 1 /dev/disk 2>&1; "
            "echo x > /dev/null && echo null-ok; sleep 60"))))
        cgroup = f"/sys/fs/cgroup/devices/dockyard-{c.id}"
        wait_for(lambda: "null-ok" in "".join(r.data for r in manager.logs(c.id)),
                 what="device checks")
        lines = "".join(r.data for r in manager.logs(c.id)).splitlines()
        assert lines[0] == "made" and "Operation not permitted" in lines[1]
        with open(os.path.join(cgroup, "cgroup.procs")) as f:
            assert c.state.pid in [int(p) for p in f.read().split()]
        assert {pid for pid, _ in manager.top(c.id)} >= {c.state.pid}
        assert manager.exec(c.id, ["cat", "/proc/self/cgroup"]).stdout.decode().count(
            f"dockyard-{c.id}") == 1
        manager.remove(c.id, force=True)
        assert not os.path.exists(cgroup)
    finally:
        remove_all(manager)
        manager.close()


def test_a_container_keeps_the_runtime_that_started_it(
        engine: Engine, host: Host, init_binary: str, dyrun_binary: str) -> None:
    first = make_manager(engine, host, init_binary, "runc", dyrun_binary)
    second = None
    try:
        old = first.run(ContainerSpec("busybox", name="old", cmd=("sleep", "60")))
        first.close()
        second = make_manager(engine, host, init_binary, "dyrun", dyrun_binary)
        new = second.run(ContainerSpec("busybox", name="new", cmd=("sleep", "60"),
                                       init=True))
        assert second.get("old").state.runtime == "runc"
        assert second.get("new").state.runtime == "dyrun"
        assert second.runc.exists(old.id) and not second.runc.exists(new.id)
        for ref in ("old", "new"):
            assert second.exec(ref, ["sh", "-c", "exit 7"]).exit_code == 7
            assert any("sleep 60" in cmd for _, cmd in second.top(ref))
        assert second.stop("old", timeout=5).state.exit_code == 143
        assert not second.runc.exists(old.id)
        assert second.stop("new", timeout=5).state.exit_code == 143
    finally:
        finish(first, second,
               lambda: make_manager(engine, host, init_binary, "dyrun", dyrun_binary))


def test_unknown_runtime_refused(engine: Engine, host: Host, init_binary: str) -> None:
    images = ImageStore(host.root, engine.store)
    with pytest.raises(InvalidParameter, match='invalid runtime "crun"'):
        ContainerManager(engine, images, init_binary=init_binary, runtime="crun")


def test_the_template_mount_namespace_holds_two_mounts_and_changes_nothing(
        dyrun_binary: str, tmp_path: object) -> None:
    """Every container's mount namespace is copied from the template, so the copy costs
    two mounts however many the host (and its running containers) has."""
    with open("/proc/self/mountinfo") as f:
        before = f.read()
    fd = make_mount_template(dyrun_binary, str(tmp_path))
    try:
        # setns into a mount namespace needs a single-threaded process: a fresh one.
        script = ("import ctypes, sys; libc = ctypes.CDLL(None, use_errno=True); "
                  f"assert libc.setns({fd}, 0x20000) == 0, ctypes.get_errno(); "
                  "sys.stdout.write(open('/proc/self/mountinfo').read())")
        inside = subprocess.run([sys.executable, "-c", script], pass_fds=(fd,),
                                capture_output=True, text=True, check=True).stdout
    finally:
        os.close(fd)
    mounts = sorted((line.split()[4], line.split(" - ")[1].split()[0])
                    for line in inside.splitlines())
    assert mounts == [("/", "tmpfs"), ("/proc", "proc")]
    with open("/proc/self/mountinfo") as f:
        assert f.read() == before


def test_only_a_container_with_cgroups_is_marked_for_cleanup(
        engine: Engine, host: Host, init_binary: str, dyrun_binary: str) -> None:
    """The runtime's marks list what a lost container row would leave behind (its
    cgroups); a container without a memory limit has none, so it costs no mark (a new
    inode, up to a millisecond on this VM's filesystem)."""
    if not os.path.isdir("/sys/fs/cgroup/memory"):
        pytest.skip("no cgroup v1 memory controller")
    manager = make_manager(engine, host, init_binary, "dyrun", dyrun_binary)
    try:
        plain = manager.run(ContainerSpec("busybox", cmd=("sleep", "60")))
        limited = manager.run(ContainerSpec("busybox", cmd=("sleep", "60"),
                                            memory=64 * 1024 * 1024))
        assert manager.dyrun.list_ids() == [limited.id]
        assert not manager.dyrun.exists(plain.id)
        manager.remove(limited.id, force=True)
        assert manager.dyrun.list_ids() == []
    finally:
        remove_all(manager)
        manager.close()
