"""What a process inside sees of its confinement, identical under both runtimes: Docker's
capabilities, masked and read-only kernel interfaces, /dev, its own namespaces."""

from __future__ import annotations

import os
import subprocess

import pytest

from dockyard.errors import KernelError
from dockyard.runtime import ContainerManager, ContainerSpec
from tests.integration.hosts import Host
from tests.integration.runtime.conftest import remove_all

pytestmark = pytest.mark.root

DOCKER_CAPS = "00000000a80425fb"  # Docker's default set, as /proc/PID/status shows it


def run(manager: ContainerManager, script: str, **kwargs: object) -> tuple[int, list[str]]:
    c = manager.run(ContainerSpec("busybox", cmd=("sh", "-c", script), **kwargs))  # type: ignore[arg-type]
    code = manager.wait(c.id, timeout=10)
    return code, "".join(r.data for r in manager.logs(c.id)).splitlines()


def caps(lines: list[str]) -> dict[str, str]:
    return {k: v.strip() for k, _, v in (line.partition(":") for line in lines)
            if k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs")}


def test_capabilities_root_and_non_root(manager: ContainerManager) -> None:
    script = "grep -E '^(Cap|NoNewPrivs)' /proc/self/status"
    code, lines = run(manager, script)
    assert code == 0
    assert caps(lines) == {"CapInh": "0" * 16, "CapPrm": DOCKER_CAPS, "CapEff": DOCKER_CAPS,
                           "CapBnd": DOCKER_CAPS, "CapAmb": "0" * 16, "NoNewPrivs": "0"}
    code, lines = run(manager, script, user="nobody")
    assert caps(lines)["CapEff"] == "0" * 16 and caps(lines)["CapBnd"] == DOCKER_CAPS
    assert caps(lines)["CapPrm"] == "0" * 16


def test_signals_and_umask_start_clean(manager: ContainerManager) -> None:
    # the manager is a Python process (SIGPIPE and SIGXFSZ ignored); its container is not
    code, lines = run(manager, "grep -E '^Sig(Blk|Ign)' /proc/self/status; umask")
    assert code == 0
    status = {k: int(v, 16) for k, _, v in (line.partition(":\t") for line in lines[:2])}
    assert status["SigBlk"] == 0
    assert status["SigIgn"] & 0x7FFFFFFF == 0  # no standard signal (1-31), SIGPIPE included
    assert lines[2] == "0022"


def test_kernel_interfaces_masked_and_read_only(manager: ContainerManager) -> None:
    code, lines = run(manager, (
        "wc -c < /proc/keys; ls /proc/acpi 2>/dev/null | wc -l; "
        "(echo 1 > /proc/sys/kernel/domainname) 2>/dev/null && echo proc-sys-writable; "
        "touch /sys/x 2>/dev/null && echo sys-writable; "
        "grep -c ' /sys sysfs ro,' /proc/self/mounts; echo done"))
    assert code == 0
    assert lines == ["0", "0", "1", "done"]


def test_dev_nodes_and_special_mounts(manager: ContainerManager) -> None:
    code, lines = run(manager, (
        "for d in null zero full random urandom tty; do [ -c /dev/$d ] && echo $d; done; "
        "head -c 3 /dev/zero | wc -c; echo x > /dev/null && echo null-ok; "
        "for m in /dev/pts /dev/shm /dev/mqueue /proc; do grep -q \" $m \" /proc/self/mounts "
        "&& echo $m; done; "
        # a node for a host disk may be made (CAP_MKNOD) but not opened (device rules)
        "for d in /tmp /dev /dev/shm; do mknod $d/disk b 7 0 && echo made; "
        "head -c 1 $d/disk >/dev/null 2>&1 || echo refused; done"))
    assert code == 0
    assert lines == ["null", "zero", "full", "random", "urandom", "tty", "3", "null-ok",
                     "/dev/pts", "/dev/shm", "/dev/mqueue", "/proc", *["made", "refused"] * 3]


def test_own_namespaces_and_the_command_or_dyinit_as_pid_1(
        manager: ContainerManager) -> None:
    script = ("cat /proc/1/cmdline | tr '\\0' ' '; echo; hostname; "
              "cat /proc/sys/kernel/domainname; ls -a / | grep -c dyinit || true")
    code, lines = run(manager, script, hostname="iso", domainname="example.org")
    assert code == 0
    if manager.runtime.name == "runc":  # always under dyinit
        assert lines[0].startswith("/.dyinit sh -c")
    else:  # as in Docker: the command is PID 1, and no init is in sight
        assert lines[0].startswith("sh -c cat /proc/1/cmdline")
        assert lines[3] == "0"
    assert lines[1:3] == ["iso", "example.org"]
    code, lines = run(manager, script, init=True)  # --init
    assert code == 0 and lines[0].startswith("/.dyinit sh -c")
    c = manager.run(ContainerSpec("busybox", cmd=("sleep", "60")))
    for kind in ("pid", "uts", "ipc", "mnt", "net"):
        assert (os.readlink(f"/proc/{c.state.pid}/ns/{kind}")
                != os.readlink(f"/proc/self/ns/{kind}")), kind


def test_bind_mount_onto_a_file_fails_cleanly(manager: ContainerManager, tmp_path: object
                                              ) -> None:
    with pytest.raises(KernelError, match=r"(?i)not a directory"):
        manager.run(ContainerSpec("busybox", cmd=("true",), binds=(f"{tmp_path}:/etc/passwd",)))
    assert manager.containers() == []


def test_a_bind_of_a_directory_takes_its_submounts_along(manager: ContainerManager,
                                                         tmp_path: object) -> None:
    """Binds are recursive, as Docker's are: what is mounted under the source is there."""
    source = os.path.join(str(tmp_path), "src")
    os.makedirs(os.path.join(source, "sub"))
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", os.path.join(source, "sub")], check=True)
    try:
        with open(os.path.join(source, "sub", "note"), "w") as f:
            f.write("from the submount\n")
        code, lines = run(manager, "cat /data/sub/note; cat /etc/hostname >/dev/null && echo ok",
                          binds=(f"{source}:/data:ro",))
        assert (code, lines) == (0, ["from the submount", "ok"])
    finally:
        subprocess.run(["umount", "-l", os.path.join(source, "sub")], check=True)


def test_a_shared_host_mount_learns_nothing_of_the_container(manager: ContainerManager,
                                                             host: Host) -> None:
    """On a systemd host / is shared, and so are the container roots mounted under it: the
    container's own mounts (/proc, /dev, its binds) must still not appear on the host."""
    subprocess.run(["mount", "--bind", host.root, host.root], check=True)
    try:
        subprocess.run(["mount", "--make-shared", host.root], check=True)
        c = manager.run(ContainerSpec("busybox", cmd=("sleep", "60")))
        rootfs = os.path.join(manager.container_dir(c.id), "rootfs")
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split()[4] for line in f]
        assert rootfs in mounts
        assert [m for m in mounts if m.startswith(rootfs + "/")] == []
    finally:
        remove_all(manager)
        subprocess.run(["umount", "-l", host.root], check=True)
