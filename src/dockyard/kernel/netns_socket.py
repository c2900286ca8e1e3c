"""Open a socket that lives in another network namespace.

A socket belongs to the namespace it was *created* in, for its whole life, whichever
thread later uses it. So the resolver can serve every sandbox from one event loop in
the host namespace: ``open_in_netns`` creates and binds the socket with the calling
thread (an executor's, never the loop's) switched into the sandbox for just that.
"""

from __future__ import annotations

import socket

from dockyard.errors import KernelError
from dockyard.kernel.ns import open_in_netns


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

    def make() -> socket.socket:
        sock = socket.socket(family, type)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(bind_addr)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        return sock

    try:
        return open_in_netns(netns_path, make)
    except OSError as exc:
        raise KernelError(
            f'cannot bind {bind_addr[0]}:{bind_addr[1]} in "{netns_path}": {exc}'
        ) from exc
