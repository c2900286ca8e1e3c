"""The manager's side of ``dymon`` (``dymon.c``), the one process that starts, logs and
reaps every container that runs without an init.

Each request is a connection of its own to dymon's socket (``<exec root>/dymon.sock``),
so threads starting containers at once never share one. A spawn's connection stays open
for as long as its container runs: dymon's last message on it, ``exit CODE``, comes once
the exit is recorded in the container's status file, and the supervisor watches the
connection as it watches an init's pidfd. dymon outlives the manager (it is in a session
of its own): a restarted manager finds it on the same socket and asks to ``watch`` the
containers it adopts.
"""

from __future__ import annotations

import array
import contextlib
import os
import socket
import threading
from collections.abc import Sequence

from dockyard.errors import KernelError

SOCKET_NAME = "dymon.sock"
REPLY_MAX = 4096
_SUN_PATH_MAX = 107  # sockaddr_un.sun_path, less its terminating NUL


class Monitor:
    def __init__(self, binary: str, directory: str) -> None:
        self.binary = binary
        self.path = os.path.join(directory, SOCKET_NAME)
        self._lock = threading.Lock()
        self._pid = 0  # the dymon this object started, to collect once it quits
        self._dir_fd: int | None = None

    def spawn(self, argv: Sequence[str], fds: Sequence[int], *, tty: bool = False
              ) -> tuple[socket.socket, str, int | None]:
        """Run ``argv`` (``dyrun run --report 3 --mntns 4 …``) with ``fds`` (log, status,
        stdin, template mount namespace): the open connection, dyrun's report and, with
        ``tty`` (``--tty 5 ROWS COLS`` in argv), the terminal's master."""
        conn = self._connect(start=True)
        assert conn is not None
        verb = b"spawn-tty" if tty else b"spawn"
        try:
            message = b"\0".join([verb, *(os.fsencode(a) for a in argv)])
            conn.sendmsg([message], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                      array.array("i", fds))])
            report, master = _receive(conn)
        except OSError as exc:
            conn.close()
            raise KernelError(f"dymon: {exc}") from exc
        if not report.startswith("ok "):
            conn.close()
        return conn, report or "fail dymon closed the connection", master

    def watch(self, pid: int) -> tuple[socket.socket, int | None] | None:
        """A connection on which ``exit CODE`` comes when ``pid``'s container ends, with
        its terminal's master if it has one; None when dymon has no such container (or
        does not run)."""
        conn = self._connect(start=False)
        if conn is None:
            return None
        try:
            conn.send(b"watch\0%d" % pid)
            reply, master = _receive(conn)
            if reply == "watching":
                return conn, master
            if master is not None:
                os.close(master)
        except OSError:
            pass
        conn.close()
        return None

    def quit(self) -> bool:
        """Stop dymon if no container runs; whether it is gone."""
        conn = self._connect(start=False)
        if conn is None:
            return True
        with conn:
            try:
                conn.send(b"quit")
                gone = conn.recv(REPLY_MAX) != b"busy"
            except OSError:
                gone = True
        with self._lock:
            if gone and self._pid:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(self._pid, 0)
                self._pid = 0
        return gone

    def close(self) -> None:
        if self._dir_fd is not None:
            os.close(self._dir_fd)
            self._dir_fd = None

    def _address(self) -> str:
        if len(os.fsencode(self.path)) <= _SUN_PATH_MAX:
            return self.path
        # Too long for a socket address: reach it through a descriptor of its directory.
        if self._dir_fd is None:
            self._dir_fd = os.open(os.path.dirname(self.path), os.O_PATH | os.O_CLOEXEC)
        return f"/proc/self/fd/{self._dir_fd}/{SOCKET_NAME}"

    def _try_connect(self) -> socket.socket | None:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        try:
            conn.connect(self._address())
        except (FileNotFoundError, ConnectionRefusedError):
            conn.close()
            return None
        return conn

    def _connect(self, *, start: bool) -> socket.socket | None:
        conn = self._try_connect()
        if conn is not None or not start:
            return conn
        with self._lock:
            conn = self._try_connect()  # another thread may have started it meanwhile
            if conn is None:
                self._start()
                conn = self._try_connect()
        if conn is None:
            raise KernelError(f"dymon: nothing listens on {self.path} after its start")
        return conn

    def _start(self) -> None:
        if self._pid:  # an earlier one of ours that has gone: collect it
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, os.WNOHANG)
        read_end, write_end = os.pipe2(os.O_CLOEXEC)
        try:
            # A session of its own: it outlives this process and its signals.
            pid = os.posix_spawn(self.binary, [self.binary, self.path], os.environ, setsid=True,
                                 file_actions=[(os.POSIX_SPAWN_OPEN, 0, os.devnull,
                                                os.O_RDONLY, 0),
                                               (os.POSIX_SPAWN_DUP2, write_end, 1),
                                               (os.POSIX_SPAWN_DUP2, write_end, 2)])
        except OSError as exc:
            os.close(read_end)
            raise KernelError(f"dymon: cannot start {self.binary}: {exc}") from exc
        finally:
            os.close(write_end)
        with os.fdopen(read_end, "rb") as output:
            first = output.readline()
            if first != b"ready\n":
                text = (first + output.read()).decode(errors="replace").strip()
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
                raise KernelError(f"dymon did not start: {text or 'no output'}")
        self._pid = pid


def _receive(conn: socket.socket) -> tuple[str, int | None]:
    """One reply, with the descriptor it carries if any (close-on-exec: a container
    started by another thread must never inherit it)."""
    fds = array.array("i")
    data, ancillary, _, _ = conn.recvmsg(REPLY_MAX, socket.CMSG_SPACE(fds.itemsize),
                                         socket.MSG_CMSG_CLOEXEC)
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
    return data.decode(errors="replace"), (fds[0] if fds else None)
