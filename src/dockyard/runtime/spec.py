"""The OCI runtime spec (``config.json``) for a container (pure).

Docker's defaults where they matter to a program inside: its capability set, masked
and read-only paths, /dev as a small tmpfs with the usual nodes (runc creates null,
zero, full, random, urandom and tty), /dev/shm, /dev/mqueue, /proc and a read-only
/sys. The container's init (``dyinit``) is bind-mounted read-only at :data:`INIT_PATH`
and runs the command as its child.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

INIT_PATH = "/.dyinit"

DEFAULT_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)
MASKED_PATHS = (
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/devices/virtual/powercap",
)
READONLY_PATHS = (
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
)


@dataclass(frozen=True)
class BindMount:
    source: str
    target: str
    read_only: bool = False

    def to_oci(self) -> dict[str, Any]:
        options = ["rbind", "rprivate", "ro" if self.read_only else "rw"]
        return {"destination": self.target, "type": "bind", "source": self.source,
                "options": options}


@dataclass(frozen=True)
class ProcessSpec:
    args: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str
    uid: int
    gid: int
    additional_gids: tuple[int, ...] = ()

    def to_oci(self) -> dict[str, Any]:
        caps = list(DEFAULT_CAPS)
        return {
            "terminal": False,
            "user": {"uid": self.uid, "gid": self.gid,
                     "additionalGids": list(self.additional_gids)},
            "args": list(self.args),
            "env": list(self.env),
            "cwd": self.cwd or "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "noNewPrivileges": False,
        }


def base_mounts() -> list[dict[str, Any]]:
    return [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                     "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    ]


def build_spec(
    *,
    rootfs: str,
    process: ProcessSpec,
    hostname: str,
    netns: str | None,
    init_binary: str | None,
    mounts: Sequence[BindMount] = (),
    cgroups_path: str = "",
    annotations: Mapping[str, str] | None = None,
    memory: int = 0,
    memory_swap: int = 0,
) -> dict[str, Any]:
    """``netns``: the sandbox's namespace path, or None to stay in the host's.
    ``memory``: a limit in bytes (0: none); ``memory_swap``: memory plus swap, as
    Docker's ``--memory-swap`` (0: the runtime's default, -1: unlimited)."""
    namespaces: list[dict[str, str]] = [
        {"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
    ]
    if netns is not None:
        namespaces.append({"type": "network", "path": netns})
    oci_mounts = base_mounts()
    if init_binary is not None:  # None: the command is PID 1 (no --init)
        oci_mounts.append(BindMount(init_binary, INIT_PATH, read_only=True).to_oci())
    oci_mounts += [m.to_oci() for m in mounts]
    linux: dict[str, Any] = {
        "namespaces": namespaces,
        "maskedPaths": list(MASKED_PATHS),
        "readonlyPaths": list(READONLY_PATHS),
        "resources": {"devices": [{"allow": False, "access": "rwm"}]},
    }
    if cgroups_path:
        linux["cgroupsPath"] = cgroups_path
    if memory > 0:
        limits = {"limit": memory, **({"swap": memory_swap} if memory_swap else {})}
        linux["resources"]["memory"] = limits
    return {
        "ociVersion": "1.0.2",
        "process": process.to_oci(),
        "root": {"path": rootfs, "readonly": False},
        "hostname": hostname,
        "mounts": oci_mounts,
        "linux": linux,
        "annotations": dict(annotations or {}),
    }
