"""Open a socket that lives in another network namespace.

A socket belongs to the namespace it was *created* in, for its whole life, whichever
thread later uses it. So the resolver can serve every sandbox from one event loop in
the host namespace: a short-lived thread enters the sandbox's namespace with
``setns(2)`` (Python 3.11 has no ``os.setns``, hence ctypes), creates and binds the
socket, and ends. The event-loop thread never changes namespace.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import socket
import threading

from dockyard.errors import KernelError

CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _setns(fd: int, what: str) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise KernelError(f'setns into "{what}" failed: {os.strerror(err)}')


def open_socket_in_netns(
    netns_path: str,
    family: socket.AddressFamily,
    type: socket.SocketKind,
    bind_addr: tuple[str, int],
) -> socket.socket:
    """Create a socket inside ``netns_path``, bind it to ``bind_addr`` and return it.

    The socket is non-blocking and has SO_REUSEADDR set (so a TCP listener can be
    reopened at once after a restart); the caller calls ``listen()`` for TCP.
    """
    result: list[socket.socket] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            errors.append(KernelError(f"cannot open own network namespace: {exc}"))
            return
        try:
            try:
                target = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                errors.append(KernelError(f'cannot open netns "{netns_path}": {exc}'))
                return
            try:
                _setns(target, netns_path)
            finally:
                os.close(target)
            try:
                sock = socket.socket(family, type)
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    sock.bind(bind_addr)
                    sock.setblocking(False)
                except BaseException:
                    sock.close()
                    raise
                result.append(sock)
            finally:
                # The thread ends right after, but go back anyway so nothing else run on
                # this OS thread could ever act in the sandbox's namespace.
                _setns(own, "own namespace")
        except OSError as exc:
            errors.append(
                KernelError(f'cannot bind {bind_addr[0]}:{bind_addr[1]} in "{netns_path}": {exc}')
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            os.close(own)

    thread = threading.Thread(target=work, name="dockyard-netns-socket", daemon=True)
    thread.start()
    thread.join()
    if errors:
        for sock in result:
            sock.close()
        raise errors[0]
    return result[0]
