"""The daemon's settings and Docker-style ``--host`` addresses (pure)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from dockyard.errors import InvalidParameter

DEFAULT_ROOT = "/var/lib/dockyard"
DEFAULT_EXEC_ROOT = "/run/dockyard"
SOCKET_NAME = "dockyard.sock"


def default_exec_root(env: Mapping[str, str] | None = None) -> str:
    """``DOCKYARD_EXEC_ROOT`` moves the default socket and runtime state (tests, several
    daemons on one machine); otherwise Docker-like /run/dockyard."""
    env = os.environ if env is None else env
    return env.get("DOCKYARD_EXEC_ROOT") or DEFAULT_EXEC_ROOT


def default_root(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get("DOCKYARD_ROOT") or DEFAULT_ROOT


def default_host(env: Mapping[str, str] | None = None) -> str:
    return "unix://" + os.path.join(default_exec_root(env), SOCKET_NAME)


def socket_path(host: str) -> str:
    """The path of a ``unix://`` address; other schemes are refused (no TCP listener:
    the API gives root, and a unix socket's mode is the only access control we have)."""
    if host.startswith("unix://"):
        path = host[len("unix://"):]
    elif host.startswith("/"):
        path = host
    else:
        raise InvalidParameter(
            f'invalid host "{host}": only unix:///path sockets are supported')
    if not path.startswith("/"):
        raise InvalidParameter(f'invalid host "{host}": the socket path must be absolute')
    return path


@dataclass(frozen=True)
class DaemonConfig:
    host: str
    root: str
    exec_root: str
    dns: tuple[str, ...] = ()
    live_restore: bool = True
    resolv_conf: str = "/etc/resolv.conf"
    runtime: str | None = None  # None: $DOCKYARD_RUNTIME, else dyrun
    init: bool = False  # containers that leave HostConfig.Init unset run with an init
    labels: tuple[str, ...] = field(default_factory=tuple)

    @property
    def socket(self) -> str:
        return socket_path(self.host)

    @property
    def pid_file(self) -> str:
        return os.path.join(self.exec_root, "dockyard.pid")
