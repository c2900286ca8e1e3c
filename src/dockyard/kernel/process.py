"""Processes the container manager supervises: subreaper, pidfds, identity, reaping.

The manager is the parent of every container's init (PR_SET_CHILD_SUBREAPER makes
the init, orphaned when ``runc run -d`` exits, its child). A container adopted after a
restart of the manager is someone else's child: it is watched through a pidfd, which
becomes readable when the process exits, whoever its parent is.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    if _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(err)}")


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat),
    which with the pid identifies a process across pid reuse; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[19])


def open_pidfd(pid: int, started: int | None = None) -> int | None:
    """A pidfd for ``pid`` if it is still the process that started at ``started``."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return None
    if started is not None and start_time(pid) != started:
        os.close(fd)
        return None
    return fd


def has_exited(pidfd: int) -> bool:
    """Whether the pidfd's process has ended (a pidfd reads as ready once it has)."""
    return bool(select.select([pidfd], [], [], 0)[0])


def reap(pid: int) -> int | None:
    """Collect ``pid`` if it is our exited child: its wait status, else None."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return status if done == pid else None


def exit_code_of(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status)


def send_signal(pidfd: int, sig: int) -> bool:
    """Signal through the pidfd (never a reused pid); False if the process is gone."""
    try:
        signal.pidfd_send_signal(pidfd, sig)
    except ProcessLookupError:
        return False
    return True


def close_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)



def pid_namespace_members(init_pid: int) -> list[int]:
    """Host pids of every process in the PID namespace whose init is ``init_pid`` (for
    ``top`` where no cgroup lists them); empty if the init is gone."""
    try:
        target = _pid_namespace(init_pid)
    except OSError:
        return []
    return sorted(_in_namespace(target))


def _pid_namespace(pid: int | str) -> str:
    # readlink ("pid:[inode]"), not stat: a stat of an ns link makes the kernel set up a
    # dentry for the namespace, ~70% dearer, and every process on the host is asked.
    return os.readlink(f"/proc/{pid}/ns/pid")


def _in_namespace(target: str, but: int = 0) -> list[int]:
    """Host pids of the processes in the PID namespace named ``target`` (except ``but``)."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != but:
            with contextlib.suppress(OSError):
                if _pid_namespace(entry) == target:
                    members.append(int(entry))
    return members


def _namespace_members(init_pid: int, started: int | None) -> tuple[int, list[int]] | None:
    """(pidfd, other members) of the PID namespace whose init is ``init_pid``, or None when
    that init is gone, was replaced, or shares our own namespace (never touch the host's)."""
    fd = open_pidfd(init_pid, started)
    if fd is None:
        return None
    try:
        target = _pid_namespace(init_pid)
        if target == _pid_namespace("self") or not send_signal(fd, 0):
            close_quietly(fd)
            return None
    except OSError:
        close_quietly(fd)
        return None
    return fd, _in_namespace(target, but=init_pid)


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def _reap(pids: list[int], deadline: float = 2.0) -> None:
    """Wait for those of ``pids`` that are our children (others' parents reap them)."""
    import time

    end = time.monotonic() + deadline
    pending = list(pids)
    while pending and time.monotonic() < end:
        still = []
        for pid in pending:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if done == 0:
                still.append(pid)
        pending = still
        if pending:
            time.sleep(0.01)


def kill_orphans_in_namespace(init_pid: int, started: int | None) -> int:
    """Kill and reap processes in a container's PID namespace that were orphaned to us.

    An exec'd process (a healthcheck probe) keeps its parent outside the container; when
    that parent is killed on a timeout, the process is reparented to us, the subreaper,
    and would become a zombie nobody reaps, which keeps the container's init from ever
    finishing its exit. Processes with a live parent of their own are left alone."""
    found = _namespace_members(init_pid, started)
    if found is None:
        return 0
    fd, members = found
    try:
        me = os.getpid()
        orphans = []
        for pid in members:
            with contextlib.suppress(OSError):
                if _parent(pid) == me:
                    os.kill(pid, signal.SIGKILL)
                    orphans.append(pid)
        _reap(orphans)
        return len(orphans)
    finally:
        close_quietly(fd)


def kill_pid_namespace(init_pid: int, started: int | None) -> int:
    """SIGKILL every process in the PID namespace whose init is ``init_pid``, init included,
    and reap those that are our children (not the init: its watcher records its exit).

    Processes that joined a container's namespace from outside (exec, probes) keep parents
    outside it, and the init cannot finish dying until they are gone. Returns how many were
    signalled; does nothing if ``init_pid`` is not the process that started at ``started``."""
    found = _namespace_members(init_pid, started)
    if found is None:
        return 0
    fd, members = found
    try:
        send_signal(fd, signal.SIGKILL)
        for pid in members:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        _reap(members)
        return 1 + len(members)
    finally:
        close_quietly(fd)
