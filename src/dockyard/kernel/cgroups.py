"""The cgroup v1 directories a container gets only when a feature needs one: a freezer
for ``pause`` and a memory group for ``--memory``.

Why on demand: attaching a process to a v1 cgroup waits for an RCU grace period (~13-17
ms here), a third of a whole start, so the default start path makes no cgroup at all
(see ``kernel/lean.py``). A memory limit is asked for at create time and costs its start
that one attach (dyrun makes the group, ``dyrun.c --memory``); a pause pays at pause time.

Pausing a container that was started in no cgroup: its processes are found through its
PID namespace (as ``top`` finds them) and moved into ``freezer/dockyard-<id>``, which is
set FROZEN *before* anything is moved: a process attached to a frozen group is frozen on
the spot, so a moved process can fork no more, and a child forked by one not yet moved
shows up in the next scan. The scans end when one finds nothing left outside. A container
started by runc is already in that very group (runc makes every controller's
``/dockyard-<id>``); moving its processes there again changes nothing.

Frozen processes do not die even of SIGKILL until thawed (cgroup v1): whoever signals a
paused container to end it thaws it (``thaw``), as Docker resumes a paused container
after sending it its kill or stop signal.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time

from dockyard.errors import KernelError, NotImplementedKind
from dockyard.kernel.process import close_quietly, open_pidfd, pid_namespace_members

FREEZER_ROOT = "/sys/fs/cgroup/freezer"
MEMORY_ROOT = "/sys/fs/cgroup/memory"
PREFIX = "dockyard-"
FREEZE_TIMEOUT = 10.0  # a process in uninterruptible sleep delays its freezing


def group_path(root: str, container_id: str) -> str:
    return os.path.join(root, PREFIX + container_id)


def available(root: str) -> bool:
    """Whether ``root`` is a mounted v1 hierarchy we can make groups in."""
    return os.path.exists(os.path.join(root, "cgroup.procs"))


def procs(path: str) -> list[int]:
    """The pids in the group; empty when it does not exist."""
    try:
        with open(os.path.join(path, "cgroup.procs")) as f:
            return [int(line) for line in f if line.strip()]
    except OSError:
        return []


def _write(path: str, name: str, value: str) -> None:
    with open(os.path.join(path, name), "w") as f:
        f.write(value)


def _read(path: str, name: str) -> str:
    with open(os.path.join(path, name)) as f:
        return f.read().strip()


# ------------------------------------------------------------------------ freezer


def freeze(container_id: str, init_pid: int, started: int | None, *,
           root: str = FREEZER_ROOT, timeout: float = FREEZE_TIMEOUT) -> None:
    """Freeze every process of the container whose init is ``init_pid`` (started at
    ``started``: a reused pid is never touched). On failure nothing stays frozen."""
    if not available(root):
        raise NotImplementedKind(f"cannot pause container {container_id}: this host has no "
                                 f"cgroup v1 freezer at {root}")
    pidfd = open_pidfd(init_pid, started)
    if pidfd is None:
        raise KernelError(f"cannot pause container {container_id}: its init is gone")
    path = group_path(root, container_id)
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o755)
        try:
            _write(path, "freezer.state", "FROZEN")
            deadline = time.monotonic() + timeout
            _move_namespace(path, init_pid, deadline)
            _wait_state(path, "FROZEN", deadline)
        except BaseException:
            with contextlib.suppress(OSError):
                _write(path, "freezer.state", "THAWED")
            raise
    except OSError as exc:
        raise KernelError(f"cannot pause container {container_id}: {path}: "
                          f"{exc.strerror}") from exc
    finally:
        close_quietly(pidfd)


def _move_namespace(path: str, init_pid: int, deadline: float) -> None:
    """Move every member of the init's PID namespace into the (frozen) group, until a
    scan finds none outside it."""
    while time.monotonic() < deadline:
        inside = set(procs(path))
        missing = [pid for pid in pid_namespace_members(init_pid)
                   if pid not in inside and not _exited(pid)]
        if not missing:
            return
        for pid in missing:
            with contextlib.suppress(ProcessLookupError):  # exited meanwhile
                _write(path, "cgroup.procs", str(pid))
    raise KernelError(f"{path}: processes kept appearing faster than they could be frozen")


def _exited(pid: int) -> bool:
    """A zombie (or dying) process: the kernel does not move it (its parent, frozen, may
    never collect it), and it runs no more anyway."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


def _wait_state(path: str, wanted: str, deadline: float) -> None:
    delay = 0.0005
    while (state := _read(path, "freezer.state")) != wanted:
        if time.monotonic() > deadline:
            raise KernelError(f"{path}: still {state}, not {wanted} (a process in "
                              "uninterruptible sleep?)")
        time.sleep(delay)
        delay = min(delay * 2, 0.02)


def thaw(container_id: str, *, root: str = FREEZER_ROOT) -> bool:
    """Let the container's frozen processes run again; False if it has no freezer."""
    path = group_path(root, container_id)
    try:
        _write(path, "freezer.state", "THAWED")
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise KernelError(f"cannot unpause container {container_id}: {path}: "
                          f"{exc.strerror}") from exc
    _wait_state(path, "THAWED", time.monotonic() + FREEZE_TIMEOUT)
    return True


def frozen(container_id: str, *, root: str = FREEZER_ROOT) -> bool:
    """Whether the container's freezer holds it frozen (or freezing)."""
    try:
        return _read(group_path(root, container_id), "freezer.state") != "THAWED"
    except OSError:
        return False


def remove_freezer(container_id: str, *, root: str = FREEZER_ROOT, kill: bool = False
                   ) -> None:
    """Thaw (what is left can then die) and remove the container's freezer group; with
    ``kill``, SIGKILL what is still in it."""
    path = group_path(root, container_id)
    if os.path.isdir(path):
        with contextlib.suppress(OSError):
            _write(path, "freezer.state", "THAWED")
        remove_group(path, kill=kill)


# ------------------------------------------------------------------------- memory


def memory_path(container_id: str, *, root: str = MEMORY_ROOT) -> str:
    return group_path(root, container_id)


def swap_limits(root: str = MEMORY_ROOT) -> bool:
    """Whether memory+swap can be limited (swap accounting on): Docker's ``SwapLimit``."""
    return os.path.exists(os.path.join(root, "memory.memsw.limit_in_bytes"))


def limit_memory(container_id: str, init_pid: int, memory: int, memory_swap: int, *,
                 root: str = MEMORY_ROOT) -> None:
    """Set a running container's memory limits (``docker update -m``), in bytes; -1 is
    unlimited, a ``memory_swap`` of 0 leaves memory+swap alone. A container started
    without a limit has no group yet: it is made, and the container's processes are
    moved in, as a pause moves them into a freezer."""
    if not available(root):
        raise KernelError(f"cannot update container {container_id}: a memory limit needs "
                          f"the cgroup v1 memory controller at {root}")
    path = memory_path(container_id, root=root)
    made = False
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir(path)
            made = True
        _write_memory_limits(path, memory, memory_swap if swap_limits(root) else 0)
        if made:
            _move_namespace(path, init_pid, time.monotonic() + FREEZE_TIMEOUT)
    except (OSError, KernelError) as exc:
        if made:  # undone: whoever was moved in goes back to the root group
            for pid in procs(path):
                with contextlib.suppress(OSError):
                    _write(root, "cgroup.procs", str(pid))
            with contextlib.suppress(KernelError):
                remove_group(path)
        if isinstance(exc, KernelError):
            raise
        if exc.errno == errno.EBUSY:
            raise KernelError(f"cannot update container {container_id}: the memory limit "
                              f"{memory} is below what its processes use now") from exc
        raise KernelError(f"cannot update container {container_id}: {path}: "
                          f"{exc.strerror}") from exc


def _write_memory_limits(path: str, memory: int, memory_swap: int) -> None:
    """The kernel keeps memory ≤ memory+swap at every step: which limit goes first
    depends on whether the memory limit rises above the current memory+swap one."""
    if memory_swap == 0:
        _write(path, "memory.limit_in_bytes", str(memory))
        return
    current_swap = int(_read(path, "memory.memsw.limit_in_bytes"))
    if memory == -1 or memory > current_swap:
        _write(path, "memory.memsw.limit_in_bytes", str(memory_swap))
        _write(path, "memory.limit_in_bytes", str(memory))
    else:
        _write(path, "memory.limit_in_bytes", str(memory))
        _write(path, "memory.memsw.limit_in_bytes", str(memory_swap))


def oom_kills(container_id: str, *, root: str = MEMORY_ROOT) -> int:
    """How many processes the kernel's OOM killer took from the container's memory group
    (``oom_kill`` of ``memory.oom_control``); 0 without a group."""
    try:
        text = _read(memory_path(container_id, root=root), "memory.oom_control")
    except OSError:
        return 0
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill" and value.strip().isdigit():
            return int(value)
    return 0


# ------------------------------------------------------------------------ removal


def remove_group(path: str, *, kill: bool = False, attempts: int = 200) -> None:
    """rmdir a cgroup, waiting while exiting processes still leave it (EBUSY); with
    ``kill``, SIGKILL what is still in it first. Gone already is success."""
    import signal

    for attempt in range(attempts):
        if kill:
            for pid in procs(path):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or attempt == attempts - 1:
                raise KernelError(f"remove cgroup {path}: {exc.strerror}") from exc
        time.sleep(0.005)
