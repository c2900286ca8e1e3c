"""Exec instances: made by ``POST /containers/{id}/exec``, run by ``POST /exec/{id}/start``.

They live in the daemon's memory only, as dockerd's do (a restarted daemon forgets
them); a finished one is kept for ``GET /exec/{id}/json`` until its container goes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from dockyard.errors import Conflict, NotFound
from dockyard.model.ids import new_id


@dataclass(frozen=True)
class ExecConfig:
    id: str
    container_id: str
    cmd: tuple[str, ...]
    env: tuple[str, ...] = ()
    workdir: str | None = None
    user: str | None = None
    tty: bool = False
    attach_stdin: bool = False
    attach_stdout: bool = True
    attach_stderr: bool = True
    console_size: tuple[int, int] = (0, 0)  # (rows, cols) of its terminal at start
    detach_keys: str = ""  # "": Docker's default, ctrl-p,ctrl-q
    pid: int = 0
    running: bool = False
    started: bool = False
    exit_code: int | None = None

    def to_doc(self) -> dict[str, object]:
        """``GET /exec/{id}/json``."""
        return {
            "ID": self.id, "ContainerID": self.container_id, "Running": self.running,
            "ExitCode": self.exit_code, "Pid": self.pid, "OpenStdin": self.attach_stdin,
            "OpenStdout":
            self.attach_stdout, "OpenStderr": self.attach_stderr, "CanRemove": False,
            "DetachKeys": self.detach_keys,
            "ProcessConfig": {"tty": self.tty, "entrypoint": self.cmd[0] if self.cmd else "",
                              "arguments": list(self.cmd[1:]), "privileged": False,
                              "user": self.user or ""},
        }


class ExecStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._execs: dict[str, ExecConfig] = {}
        self._terminals: dict[str, int] = {}  # exec id -> its terminal's master, while it runs

    def running(self, exec_id: str, pid: int, terminal: int | None) -> None:
        """The exec's process runs (``terminal``: the master of its tty, for resize)."""
        with self._lock:
            config = self._execs.get(exec_id)
            if config is not None:
                self._execs[exec_id] = replace(config, pid=pid)
            if terminal is not None:
                self._terminals[exec_id] = terminal

    def terminal(self, exec_id: str) -> int | None:
        with self._lock:
            return self._terminals.get(exec_id)

    def add(self, config: ExecConfig) -> ExecConfig:
        config = replace(config, id=config.id or new_id())
        with self._lock:
            self._execs[config.id] = config
        return config

    def get(self, exec_id: str) -> ExecConfig:
        with self._lock:
            found = self._execs.get(exec_id)
            if found is None:
                matches = [e for e in self._execs.values() if exec_id and
                           e.id.startswith(exec_id)]
                found = matches[0] if len(matches) == 1 else None
        if found is None:
            raise NotFound(f"No such exec instance: {exec_id}")
        return found

    def begin(self, exec_id: str) -> ExecConfig:
        """Mark started; an exec runs once (dockerd: 409 on a second start)."""
        with self._lock:
            config = self._execs.get(exec_id)
            if config is None:
                raise NotFound(f"No such exec instance: {exec_id}")
            if config.started:
                raise Conflict(f"Error: Exec command {exec_id} has already run")
            config = replace(config, started=True, running=True)
            self._execs[exec_id] = config
            return config

    def finish(self, exec_id: str, exit_code: int) -> None:
        with self._lock:
            self._terminals.pop(exec_id, None)
            config = self._execs.get(exec_id)
            if config is not None:
                self._execs[exec_id] = replace(config, running=False, exit_code=exit_code)

    def forget_container(self, container_id: str) -> None:
        with self._lock:
            for key in [k for k, e in self._execs.items() if e.container_id == container_id]:
                del self._execs[key]
