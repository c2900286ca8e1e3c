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
