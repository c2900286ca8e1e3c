"""Terminals and stdin of container processes: the system calls the manager needs.

A container or exec with a terminal gets one from its own devpts (``dyinit.c`` and
``dyrun.c`` open ``/dev/ptmx`` inside the container, so ``tty`` there says
``/dev/pts/0``); the master comes back to the manager over a unix socket (SCM_RIGHTS),
as runc's ``--console-socket`` does. Everything else the manager does with it (reading
output, writing input, TIOCSWINSZ) goes through the few functions here.
"""

from __future__ import annotations

import array
import contextlib
import ctypes
import fcntl
import os
import select
import socket
import stat
import struct
import subprocess
import termios
from dataclasses import dataclass, field

_libc = ctypes.CDLL(None, use_errno=True)
SYS_PIDFD_GETFD = 438


@dataclass
class ExecProcess:
    """An exec started for streaming: ``proc`` is the runtime's process (its exit status is
    the command's); ``master`` the terminal's master (with a tty), else the command's
    stdin/stdout/stderr are ``proc``'s pipes."""

    proc: subprocess.Popen[bytes]
    master: int | None = None
    closed: bool = field(default=False)

    def close(self) -> None:
        """Release our ends (the process itself is waited for by the caller)."""
        if self.closed:
            return
        self.closed = True
        if self.master is not None:
            with contextlib.suppress(OSError):
                os.close(self.master)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def console_socket() -> tuple[socket.socket, socket.socket]:
    """(ours, theirs): ``theirs`` is handed to the process that makes the terminal."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return ours, theirs


def receive_fd(sock: socket.socket, timeout: float) -> int | None:
    """The one descriptor sent over ``sock``, or None if the peer closed without one.

    Received close-on-exec (MSG_CMSG_CLOEXEC): a container started by another thread at
    the same moment must never inherit another container's terminal."""
    sock.settimeout(timeout)
    try:
        fds = array.array("i")
        _, ancillary, _, _ = sock.recvmsg(1, socket.CMSG_SPACE(fds.itemsize),
                                          socket.MSG_CMSG_CLOEXEC)
    except (TimeoutError, OSError):
        return None
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
    received = list(fds)
    for extra in received[1:]:
        os.close(extra)
    return received[0] if received else None


def set_size(fd: int, rows: int, cols: int) -> None:
    """TIOCSWINSZ: the kernel sends SIGWINCH to the terminal's foreground process group."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def get_size(fd: int) -> tuple[int, int]:
    rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    return rows, cols


def pidfd_getfd(pidfd: int, target_fd: int) -> int | None:
    """A copy of fd ``target_fd`` of the process behind ``pidfd`` (close-on-exec), or None.
    Used to take back a container's terminal after a restart of the manager."""
    fd = _libc.syscall(SYS_PIDFD_GETFD, pidfd, target_fd, 0)
    return None if fd < 0 else int(fd)


def is_terminal_master(fd: int) -> bool:
    """Whether ``fd`` is the master side of a pseudo-terminal (the ptmx device, 5:2)."""
    st = os.fstat(fd)
    return stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (5, 2)


def write_all(fd: int, data: bytes, stop: object | None = None, poll_s: float = 0.2) -> bool:
    """Write everything to a blocking or non-blocking ``fd``; False when the reader is
    gone (EPIPE, EIO) or ``stop`` (anything with ``is_set``) is set while waiting."""
    view = memoryview(data)
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            while not poller.poll(poll_s * 1000):
                if stop is not None and stop.is_set():  # type: ignore[attr-defined]
                    return False
            continue
        except OSError:  # EPIPE (reader gone), EIO (terminal hung up), EBADF (closed)
            return False
        view = view[written:]
    return True
