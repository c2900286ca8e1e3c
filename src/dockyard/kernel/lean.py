"""``dyrun``, the lean container runtime: the same OCI document runc gets, started by a
small static C program instead (``dyrun.c``; see it for what it does and in which order).

Why: runc costs 25-50 ms a start; the system calls a container actually needs take
well under one. The translation from the OCI document to dyrun's command line is pure
(:func:`dyrun_args`, :func:`exec_args`) so what a container gets is testable without a
kernel; :class:`Dyrun` only spawns and cleans up.

Devices: a root process keeps CAP_MKNOD (as in Docker), so something must stop it from
opening a node it made for the host's disk. runc uses the devices cgroup; dyrun does that
with ``devices="cgroup"`` (``/sys/fs/cgroup/devices/dockyard-<id>`` with runc's rules,
cgroup v1 only), but attaching a process to a v1 cgroup waits for an RCU grace period,
~13 ms here, a third of a whole start. The default, ``devices="nodev"``, gets the same
refusal from mounts instead: every mount of the container is ``nodev`` and the usual nodes
are the host's, bind-mounted (the node can be made, opening it fails with EACCES where
the cgroup gives EPERM). No cgroup at all then, unless the container has a memory limit
(``memory/dockyard-<id>``, made and entered by dyrun before the init is forked, so the
limit holds for the command and all its children) or is paused (``kernel/cgroups.py``);
``top`` finds a container's processes by its PID namespace.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from dockyard.errors import InvalidParameter, KernelError
from dockyard.kernel import cgroups
from dockyard.kernel.console import ExecProcess, console_socket, receive_fd
from dockyard.kernel.monitor import Monitor
from dockyard.kernel.oci import ExecResult, spawn_with_fds

CGROUP_DEVICES = "/sys/fs/cgroup/devices"
CGROUP_PREFIX = "dockyard-"

CAPABILITIES = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
    "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN",
    "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE",
    "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
    "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
    "PERFMON", "BPF", "CHECKPOINT_RESTORE",
)  # index = the kernel's capability number

# mount(8) option -> (flags to set, flags to clear)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_BIND, MS_REC, MS_STRICTATIME = 4096, 16384, 1 << 24
_FLAGS: dict[str, tuple[int, int]] = {
    "ro": (MS_RDONLY, 0), "rw": (0, MS_RDONLY), "nosuid": (MS_NOSUID, 0),
    "suid": (0, MS_NOSUID), "nodev": (MS_NODEV, 0), "dev": (0, MS_NODEV),
    "noexec": (MS_NOEXEC, 0), "exec": (0, MS_NOEXEC), "bind": (MS_BIND, 0),
    "rbind": (MS_BIND | MS_REC, 0), "strictatime": (MS_STRICTATIME, 0),
}
# Propagation options: dyrun makes every mount of the container private.
_PROPAGATION = {"private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable",
                "runbindable"}


class DirectStart(NamedTuple):
    """What :meth:`Dyrun.start_direct` gives: dyrun's report ("ok PID", "error CODE MSG"
    or "fail MSG"); after "ok", dymon's connection for the container (it says "exit
    CODE" there) and the terminal's master if it has one."""

    report: str
    conn: socket.socket | None
    master: int | None


class ContainerRuntime(Protocol):
    """What the manager needs of a runtime (runc's :class:`~dockyard.kernel.oci.Runc`
    and :class:`Dyrun`)."""

    name: str

    def start(self, container_id: str, bundle: str, spec: Mapping[str, Any],
              extra_fds: Sequence[int]) -> int: ...

    def exec_process(self, container_id: str, process: Mapping[str, Any], *, pid: int = 0,
                     timeout: float | None = None) -> ExecResult: ...

    def spawn_exec(self, container_id: str, process: Mapping[str, Any], *, pid: int = 0,
                   tty: tuple[int, int] | None = None, stdin: bool = False
                   ) -> ExecProcess: ...

    def delete(self, container_id: str, *, force: bool = False) -> None: ...

    def exists(self, container_id: str) -> bool: ...

    def list_ids(self) -> list[str]: ...


def cap_mask(names: Sequence[str]) -> int:
    mask = 0
    for name in names:
        short = name.removeprefix("CAP_")
        if short not in CAPABILITIES:
            raise KernelError(f'unknown capability "{name}"')
        mask |= 1 << CAPABILITIES.index(short)
    return mask


def mount_flags(options: Sequence[str]) -> tuple[int, str]:
    """An OCI mount's options as mount(2) flags and the filesystem's data string."""
    flags, data = 0, []
    for option in options:
        if option in _FLAGS:
            on, off = _FLAGS[option]
            flags = (flags | on) & ~off
        elif option not in _PROPAGATION:
            data.append(option)
    return flags, ",".join(data)


def _process_args(process: Mapping[str, Any]) -> list[str]:
    user = process.get("user") or {}
    groups = ",".join(str(g) for g in user.get("additionalGids") or [])
    args = ["--user", str(user.get("uid", 0)), str(user.get("gid", 0)), groups,
            "--cwd", process.get("cwd") or "/"]
    caps = (process.get("capabilities") or {}).get("bounding")
    if caps is not None:
        args += ["--caps", f"{cap_mask(caps):x}"]
    for item in process.get("env") or []:
        args += ["--env", item]
    return args


def memory_limits(spec: Mapping[str, Any]) -> tuple[int, int]:
    """(limit, limit of memory + swap) in bytes from the document's
    ``linux.resources.memory`` (runc's meaning of ``swap``); 0: none, -1: unlimited."""
    memory = ((spec.get("linux") or {}).get("resources") or {}).get("memory") or {}
    return int(memory.get("limit") or 0), int(memory.get("swap") or 0)


def dyrun_args(spec: Mapping[str, Any], cgroup: str | None = None, nodev: bool = False,
               memory_cgroup: str | None = None, mntns_fd: int = 3,
               report_fd: int | None = None,
               tty: tuple[int, int, int] | None = None) -> list[str]:
    """``dyrun run`` directives for an OCI document (pure); ``nodev``: every mount but
    devpts gets ``nodev`` (see the module's note on devices); ``memory_cgroup``: where
    the document's memory limit, if any, is applied; ``mntns_fd``: dyrun's descriptor
    of the template mount namespace; ``report_fd``: no init, the start is reported on
    this descriptor (see dyrun.c's ``--report``); ``tty``: (socket fd, rows, cols), with
    ``report_fd``, for a command with a terminal."""
    args = ["run", "--root", spec["root"]["path"], "--mntns", str(mntns_fd)]
    if report_fd is not None:
        args += ["--report", str(report_fd)]
    if tty is not None:
        args += ["--tty", *(str(n) for n in tty)]
    if nodev:
        args += ["--nodev", "1"]
    if spec["root"].get("readonly"):
        args += ["--readonly-root"]
    linux = spec.get("linux") or {}
    for ns in linux.get("namespaces") or []:
        if ns["type"] == "network" and ns.get("path"):
            args += ["--netns", ns["path"]]
    if spec.get("hostname"):
        args += ["--hostname", spec["hostname"]]
    sysctls = dict(linux.get("sysctl") or {})
    domain = sysctls.pop("kernel.domainname", None)
    if domain:
        args += ["--domainname", domain]
    for key, value in sysctls.items():
        args += ["--sysctl", f"{key}={value}"]
    for m in spec.get("mounts") or []:
        flags, data = mount_flags(m.get("options") or [])
        if m.get("type") == "bind":
            flags |= MS_BIND
        if nodev and m.get("type") != "devpts":
            flags |= MS_NODEV
        args += ["--mount", m.get("type") or "none", m.get("source") or "none",
                 m["destination"], str(flags), data]
    for path in linux.get("maskedPaths") or []:
        args += ["--mask", path]
    for path in linux.get("readonlyPaths") or []:
        args += ["--readonly", path]
    if cgroup:
        args += ["--cgroup", cgroup]
    limit, swap = memory_limits(spec)
    if memory_cgroup and limit > 0:
        args += ["--memory", memory_cgroup, str(limit), str(swap)]
    process = spec["process"]
    return [*args, *_process_args(process), "--", *process["args"]]


def exec_args(pid: int, process: Mapping[str, Any], cgroup: str | None = None,
              joins: Sequence[str] = (), tty: tuple[int, int, int] | None = None
              ) -> list[str]:
    """``dyrun exec`` directives: ``process`` in the namespaces of init ``pid`` and in the
    container's cgroups (``cgroup``: its devices group; ``joins``: others) (pure);
    ``tty``: (console socket fd, rows, cols) for a command with a terminal."""
    args = ["exec", "--pid", str(pid)]
    if cgroup:
        args += ["--cgroup", cgroup]
    for path in joins:
        args += ["--join", path]
    if tty is not None:
        args += ["--tty", *(str(n) for n in tty)]
    return [*args, *_process_args(process), "--", *process["args"]]


class Dyrun:
    name = "dyrun"

    def __init__(self, binary: str, root: str, devices: str = "nodev",
                 cgroup_root: str = CGROUP_DEVICES, memory_root: str = cgroups.MEMORY_ROOT,
                 freezer_root: str = cgroups.FREEZER_ROOT,
                 monitor: Monitor | None = None) -> None:
        """``root``: this manager's directory of started containers with cgroups (one
        empty file each), so that cleaning up never touches another manager's.
        ``devices``: "nodev" or "cgroup" (falls back to "nodev" without a v1 devices
        controller), see the module's note."""
        if devices not in ("nodev", "cgroup"):
            raise InvalidParameter(f'invalid devices policy "{devices}": expected nodev or cgroup')
        self.binary = binary
        self.root = root
        os.makedirs(root, mode=0o700, exist_ok=True)
        usable = devices == "cgroup" and os.path.exists(
            os.path.join(cgroup_root, "devices.allow"))
        self.cgroup_root: str | None = cgroup_root if usable else None
        self.memory_root = memory_root
        self.freezer_root = freezer_root
        self.monitor = monitor  # dymon: what starts containers without an init
        self._template: int | None = None  # fd of the template mount namespace
        self._template_lock = threading.Lock()

    def cgroup(self, container_id: str) -> str | None:
        if self.cgroup_root is None:
            return None
        return os.path.join(self.cgroup_root, CGROUP_PREFIX + container_id)

    def start(self, container_id: str, bundle: str, spec: Mapping[str, Any],
              extra_fds: Sequence[int]) -> int:
        """Start the container; ``extra_fds`` become its init's fds 3, 4, …; returns the
        init's host pid (a child of this process once dyrun has exited)."""
        cgroup, memory = self._cgroups(container_id, spec)
        template = self._mount_template()
        fds = (*extra_fds, template)  # the template's fd: dyrun closes it before the init
        argv = [self.binary, *dyrun_args(spec, cgroup, nodev=cgroup is None,
                                         memory_cgroup=memory, mntns_fd=2 + len(fds))]
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        null_fd = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        try:
            try:
                pid = spawn_with_fds(self.binary, argv, (null_fd, out_w, out_w, *fds))
            finally:
                os.close(out_w)
                os.close(null_fd)
            _, status = os.waitpid(pid, 0)
            # dyrun has exited, so all it wrote is in the pipe; the container's init may
            # still hold the write end for a moment, so read without waiting for EOF.
            os.set_blocking(out_r, False)
            output = b""
            with contextlib.suppress(BlockingIOError):
                while chunk := os.read(out_r, 65536):
                    output += chunk
        finally:
            os.close(out_r)
        text = output.decode(errors="replace").strip()
        if os.waitstatus_to_exitcode(status) != 0 or not text.startswith("pid "):
            self.delete(container_id, force=True)
            message = text.removeprefix("dyrun: ") or "failed"
            raise KernelError(f"dyrun run {container_id[:12]}: {message}")
        return int(text.split()[1])

    def start_direct(self, container_id: str, spec: Mapping[str, Any], fds: Sequence[int],
                     tty_size: tuple[int, int] | None = None) -> DirectStart:
        """Start the container without an init, through dymon: the document's command is
        PID 1. ``fds``: its log, status file and stdin; ``tty_size``: (rows, cols) of a
        terminal to give it instead."""
        if self.monitor is None:
            raise KernelError("dyrun: no monitor to start a container without an init")
        cgroup, memory = self._cgroups(container_id, spec)
        tty = None if tty_size is None else (5, *tty_size)
        argv = [self.binary, *dyrun_args(spec, cgroup, nodev=cgroup is None,
                                         memory_cgroup=memory, mntns_fd=4, report_fd=3,
                                         tty=tty)]
        conn, report, master = self.monitor.spawn(argv, [*fds, self._mount_template()],
                                                  tty=tty is not None)
        if report.startswith("ok "):
            return DirectStart(report, conn, master)
        if master is not None:
            os.close(master)
        self.delete(container_id, force=True)
        return DirectStart(report, None, None)

    def _cgroups(self, container_id: str, spec: Mapping[str, Any]
                 ) -> tuple[str | None, str | None]:
        """The devices and memory cgroups dyrun is to make for the container, if any."""
        cgroup = self.cgroup(container_id)
        memory = None
        if memory_limits(spec)[0] > 0:
            if not cgroups.available(self.memory_root):
                raise KernelError(f"dyrun run {container_id[:12]}: a memory limit needs the "
                                  f"cgroup v1 memory controller at {self.memory_root}")
            memory = cgroups.memory_path(container_id, root=self.memory_root)
        if cgroup or memory:
            # The mark that this manager has runtime state to clean (the cgroups dyrun
            # makes) should the container's row ever be lost; without a cgroup there is
            # nothing to clean, and a new inode can cost a millisecond here.
            with open(os.path.join(self.root, container_id), "w"):
                pass
        return cgroup, memory

    def _mount_template(self) -> int:
        """The mount namespace every container's is copied from (see dyrun.c's
        ``template``), made on the first start: copying this process's own would cost
        O(mounts on the host), and each running container adds two."""
        with self._template_lock:
            if self._template is None:
                self._template = make_mount_template(self.binary, self.root)
            return self._template

    def close(self) -> None:
        with self._template_lock:
            if self._template is not None:
                os.close(self._template)
                self._template = None

    def exec_process(self, container_id: str, process: Mapping[str, Any], *, pid: int = 0,
                     timeout: float | None = None) -> ExecResult:
        if pid <= 0:
            raise KernelError(f"dyrun exec {container_id[:12]}: the container is not running")
        joins = self._joins(container_id)
        result = subprocess.run(
            [self.binary, *exec_args(pid, process, self.cgroup(container_id), joins)],
            capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )
        return ExecResult(result.returncode, result.stdout, result.stderr)

    def spawn_exec(self, container_id: str, process: Mapping[str, Any], *, pid: int = 0,
                   tty: tuple[int, int] | None = None, stdin: bool = False) -> ExecProcess:
        """Start an exec whose I/O the caller streams: with ``tty`` (rows, cols) it gets a
        terminal whose master is returned; else its stdin (with ``stdin``), stdout and
        stderr are pipes. dyrun's own failures arrive on its stderr either way."""
        if pid <= 0:
            raise KernelError(f"dyrun exec {container_id[:12]}: the container is not running")
        joins = self._joins(container_id)
        cgroup = self.cgroup(container_id)
        if tty is None:
            return ExecProcess(subprocess.Popen(
                [self.binary, *exec_args(pid, process, cgroup, joins)],
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        ours, theirs = console_socket()
        with ours:
            try:
                argv = [self.binary, *exec_args(pid, process, cgroup, joins,
                                                tty=(theirs.fileno(), *tty))]
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        pass_fds=(theirs.fileno(),))
            finally:
                theirs.close()
            master = receive_fd(ours, 10.0)
        if master is None:  # dyrun failed before making the terminal: say why
            _, err = proc.communicate(timeout=10)
            message = err.decode(errors="replace").strip().removeprefix("dyrun: ")
            raise KernelError(f"dyrun exec {container_id[:12]}: {message or 'no terminal'}")
        return ExecProcess(proc, master)

    def _joins(self, container_id: str) -> list[str]:
        """The container's cgroups an exec'd process enters besides the devices one: its
        memory group, when it has a limit (the exec counts against it, as in Docker)."""
        memory = cgroups.memory_path(container_id, root=self.memory_root)
        return [memory] if os.path.isdir(memory) else []

    def delete(self, container_id: str, *, force: bool = False) -> None:
        """Remove the container's cgroups (devices, memory, freezer); with ``force``,
        kill what is still in them first. Gone already is success."""
        # Thawed first: a frozen process does not die, not even of SIGKILL.
        cgroups.remove_freezer(container_id, root=self.freezer_root, kill=force)
        for path in (self.cgroup(container_id),
                     cgroups.memory_path(container_id, root=self.memory_root)):
            if path is not None and os.path.isdir(path):
                cgroups.remove_group(path, kill=force)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.root, container_id))

    def exists(self, container_id: str) -> bool:
        return os.path.exists(os.path.join(self.root, container_id))

    def list_ids(self) -> list[str]:
        with contextlib.suppress(FileNotFoundError):
            return sorted(os.listdir(self.root))
        return []

    def procs(self, container_id: str) -> list[int]:
        path = self.cgroup(container_id)
        return cgroups.procs(path) if path else []


def make_mount_template(binary: str, directory: str) -> int:
    """A descriptor of a new mount namespace holding only a tmpfs root with ``/root`` and
    ``/proc``: ``dyrun template`` builds it (over ``directory``, in its own namespace, so
    nothing here changes) and waits, while this process opens it, for stdin to close."""
    proc = subprocess.Popen([binary, "template", directory], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        ready = proc.stdout.readline().strip() == b"ready"
        fd = os.open(f"/proc/{proc.pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC) if ready else -1
    finally:
        _, err = proc.communicate(timeout=10)  # closes stdin: the template process exits
    if fd < 0:
        message = err.decode(errors="replace").strip().removeprefix("dyrun: ")
        raise KernelError(f"dyrun template: {message or f'exit {proc.returncode}'}")
    return fd
