"""The OCI document translated to dyrun's directives (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.errors import InvalidParameter, KernelError
from dockyard.kernel.lean import (
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_RDONLY,
    MS_REC,
    MS_STRICTATIME,
    Dyrun,
    cap_mask,
    dyrun_args,
    exec_args,
    mount_flags,
)
from dockyard.runtime.spec import DEFAULT_CAPS, INIT_PATH, BindMount, ProcessSpec, build_spec


def spec(netns: str | None = "/run/netns/x", user: tuple[int, int] = (0, 0)
         ) -> dict[str, Any]:
    return build_spec(
        rootfs="/c/rootfs", hostname="box", netns=netns, init_binary="/bin/dyinit",
        process=ProcessSpec(args=(INIT_PATH, "sh", "-c", "echo hi"), env=("A=1", "B=x y"),
                            cwd="/work", uid=user[0], gid=user[1], additional_gids=(5, 7)),
        mounts=[BindMount("/h/hosts", "/etc/hosts"), BindMount("/data", "/d", read_only=True)],
    )


def directives(args: list[str], flag: str, width: int) -> list[list[str]]:
    return [args[i + 1:i + 1 + width] for i, a in enumerate(args) if a == flag]


def test_docker_default_capabilities_as_a_mask() -> None:
    assert cap_mask(DEFAULT_CAPS) == 0xA80425FB  # what /proc/PID/status shows in Docker
    assert cap_mask(["CAP_SYS_ADMIN"]) == 1 << 21
    with pytest.raises(KernelError, match="CAP_NOPE"):
        cap_mask(["CAP_NOPE"])


def test_mount_options_become_flags_and_data() -> None:
    assert mount_flags(["nosuid", "strictatime", "mode=755", "size=65536k"]) == (
        MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k")
    assert mount_flags(["rbind", "rprivate", "ro"]) == (MS_BIND | MS_REC | MS_RDONLY, "")
    assert mount_flags(["ro", "rw"]) == (0, "")  # the last word wins, as in mount(8)


def test_run_directives_from_the_oci_document() -> None:
    args = dyrun_args(spec())
    assert args[:3] == ["run", "--root", "/c/rootfs"]
    assert directives(dyrun_args(spec(), mntns_fd=7), "--mntns", 1) == [["7"]]
    # without an init the start is reported on a descriptor (dymon's pipe)
    assert "--report" not in args
    assert directives(dyrun_args(spec(), report_fd=3), "--report", 1) == [["3"]]
    assert directives(args, "--netns", 1) == [["/run/netns/x"]]
    assert directives(args, "--hostname", 1) == [["box"]]
    assert directives(args, "--user", 3) == [["0", "0", "5,7"]]
    assert directives(args, "--cwd", 1) == [["/work"]]
    assert directives(args, "--caps", 1) == [["a80425fb"]]
    assert directives(args, "--env", 1) == [["A=1"], ["B=x y"]]
    assert args[args.index("--") + 1:] == [INIT_PATH, "sh", "-c", "echo hi"]
    mounts = {m[2]: m for m in directives(args, "--mount", 5)}
    assert mounts["/proc"] == ["proc", "proc", "/proc", str(MS_NOSUID | MS_NOEXEC | MS_NODEV),
                               ""]
    assert mounts["/sys"][3] == str(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY)
    assert mounts[INIT_PATH][:2] == ["bind", "/bin/dyinit"]
    assert int(mounts[INIT_PATH][3]) & MS_RDONLY
    assert int(mounts["/d"][3]) == MS_BIND | MS_REC | MS_RDONLY
    assert int(mounts["/etc/hosts"][3]) == MS_BIND | MS_REC
    assert ["/proc/kcore"] in directives(args, "--mask", 1)
    assert ["/proc/sys"] in directives(args, "--readonly", 1)
    assert "--cgroup" not in args and "--nodev" not in args
    # the host's network namespace: no --netns at all
    assert "--netns" not in dyrun_args(spec(netns=None))


def test_nodev_marks_every_mount_but_devpts() -> None:
    args = dyrun_args(spec(), nodev=True)
    assert directives(args, "--nodev", 1) == [["1"]]
    for kind, _src, dest, flags, _data in directives(args, "--mount", 5):
        assert bool(int(flags) & MS_NODEV) == (kind != "devpts"), dest


def test_exec_directives() -> None:
    process = ProcessSpec(args=("id", "-u"), env=("PATH=/bin",), cwd="", uid=65534,
                          gid=65534).to_oci()
    args = exec_args(42, process, "/sys/fs/cgroup/devices/dockyard-x")
    assert args[:5] == ["exec", "--pid", "42", "--cgroup", "/sys/fs/cgroup/devices/dockyard-x"]
    assert directives(args, "--user", 3) == [["65534", "65534", ""]]
    assert directives(args, "--cwd", 1) == [["/"]]
    assert args[args.index("--") + 1:] == ["id", "-u"]


def test_devices_policy_is_checked(tmp_path: object) -> None:
    with pytest.raises(InvalidParameter, match='invalid devices policy "none"'):
        Dyrun("/bin/dyrun", str(tmp_path), devices="none")
    assert Dyrun("/bin/dyrun", str(tmp_path)).cgroup("abc") is None  # nodev: no cgroup
