"""--read-only, --tmpfs, capabilities, --group-add and net.* sysctls under both runtimes
(dyrun and runc): the same container sees the same thing."""

from __future__ import annotations

import pytest

from dockyard.engine import Engine
from dockyard.runtime import ContainerManager, ContainerSpec

pytestmark = pytest.mark.root

CAP_NET_ADMIN = 1 << 12


def run_output(manager: ContainerManager, spec: ContainerSpec) -> tuple[int, str]:
    c = manager.run(spec)
    code = manager.wait(c.id, timeout=10)
    return code, "".join(r.data for r in manager.logs(c.id))


def test_root_read_only_with_a_tmpfs_that_is_not(manager: ContainerManager) -> None:
    code, out = run_output(manager, ContainerSpec(
        "busybox", read_only=True, tmpfs=("/scratch:size=1m",), cmd=(
            "sh", "-c", "touch /nope 2>/dev/null && echo root-writable; "
                        "touch /scratch/ok && echo tmpfs-writable; "
                        "grep ' /scratch ' /proc/mounts | cut -d' ' -f4")))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "tmpfs-writable"
    assert {"rw", "nosuid", "nodev", "noexec", "size=1024k"} <= set(lines[1].split(","))


def test_capabilities_and_groups(manager: ContainerManager) -> None:
    code, out = run_output(manager, ContainerSpec(
        "busybox", cap_drop=("ALL",), cap_add=("NET_ADMIN",), user="1000",
        group_add=("10",), cmd=("sh", "-c", "grep CapBnd /proc/self/status; id -G")))
    assert code == 0
    bounding, groups = out.splitlines()
    assert int(bounding.split()[1], 16) == CAP_NET_ADMIN
    assert "10" in groups.split()


def test_sysctls_of_the_containers_network_and_ipc_namespaces(manager: ContainerManager,
                                                              engine: Engine) -> None:
    engine.create_network("tuned")
    code, out = run_output(manager, ContainerSpec(
        "busybox", network_mode="tuned",
        sysctls=("net.ipv4.ip_unprivileged_port_start=80", "kernel.shmmni=1234",
                 "fs.mqueue.msg_max=20"),
        cmd=("cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start",
             "/proc/sys/kernel/shmmni", "/proc/sys/fs/mqueue/msg_max")))
    assert (code, out.split()) == (0, ["80", "1234", "20"])
    # the host's own IPC namespace is untouched
    with open("/proc/sys/kernel/shmmni") as f:
        assert f.read().strip() != "1234"
