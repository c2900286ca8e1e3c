"""The OCI runtime (runc) driven by bundle: run detached, exec, delete, state.

Only this module runs ``runc`` (``kernel/lean.py`` is the lean alternative, ``dyrun``).
``run`` starts runc with ``posix_spawn`` so that the
descriptors the container's init expects land exactly on fds 3, 4 and 5 (runc's
``--preserve-fds`` passes fds 3.. through by number), and waits for runc only: the
container's init, orphaned when runc exits, is then a child of the manager (a
subreaper), which the supervisor collects.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dockyard.errors import KernelError, NotImplementedKind
from dockyard.kernel.spawn import spawn

RUNC = "/usr/sbin/runc"


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: bytes
    stderr: bytes


class Runc:
    name = "runc"

    def __init__(self, root: str, binary: str = RUNC) -> None:
        self.root = root
        self.binary = binary
        os.makedirs(root, mode=0o700, exist_ok=True)

    def _argv(self, *args: str) -> list[str]:
        return [self.binary, "--root", self.root, *args]

    def start(self, container_id: str, bundle: str, spec: Mapping[str, Any],
              extra_fds: Sequence[int]) -> int:
        """Write ``config.json`` into the bundle and run the container detached."""
        os.makedirs(bundle, exist_ok=True)  # (only runc needs one: dyrun takes argv)
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(spec, f)
        return self.run_detached(container_id, bundle, extra_fds)

    def run_detached(
        self, container_id: str, bundle: str, extra_fds: Sequence[int], timeout: float = 30
    ) -> int:
        """``runc run -d``; ``extra_fds`` become the container's fds 3, 4, …; returns the
        host pid of the container's init."""
        pid_file = os.path.join(bundle, "init.pid")
        err_path = os.path.join(bundle, "runc.err")
        err_fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        null_fd = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        try:
            argv = self._argv("run", "--detach", "--no-new-keyring", "--bundle", bundle,
                              "--pid-file", pid_file, "--preserve-fds", str(len(extra_fds)),
                              container_id)
            pid = spawn_with_fds(self.binary, argv, (null_fd, null_fd, err_fd, *extra_fds))
        finally:
            os.close(err_fd)
            os.close(null_fd)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            with open(err_path, errors="replace") as f:
                message = _runc_message(f.read())
            self.delete(container_id, force=True)
            raise KernelError(f"runc run {container_id[:12]}: {message}")
        with open(pid_file) as f:
            return int(f.read().strip())

    def exec(
        self, container_id: str, argv: Sequence[str], *, env: Sequence[str], cwd: str,
        user: str, timeout: float | None = None, stdin: bytes | None = None,
    ) -> ExecResult:
        args = ["exec", "--cwd", cwd or "/", "--user", user]
        for item in env:
            args += ["--env", item]
        result = subprocess.run(
            self._argv(*args, container_id, *argv), input=stdin or b"",
            capture_output=True, timeout=timeout,
        )
        return ExecResult(result.returncode, result.stdout, result.stderr)

    def exec_process(
        self, container_id: str, process: Mapping[str, Any], *, pid: int = 0,
        timeout: float | None = None,
    ) -> ExecResult:
        """``runc exec --process``: an exec described by an OCI process document; the
        exit code is Docker's (127/126 when runc could not start the command)."""
        result = subprocess.run(
            self._argv("exec", "--process", "/dev/stdin", container_id),
            input=json.dumps(process).encode(), capture_output=True, timeout=timeout,
        )
        done = ExecResult(result.returncode, result.stdout, result.stderr)
        failure = exec_failure(done)
        if failure is not None:
            code, message = failure
            return ExecResult(code, done.stdout, message.encode() + b"\n")
        return done

    def spawn_exec(self, container_id: str, process: Mapping[str, Any], *, pid: int = 0,
                   tty: tuple[int, int] | None = None, stdin: bool = False) -> Any:
        """An exec whose stdin/stdout/stderr the caller streams through pipes. A terminal
        would need runc's --console-socket protocol, which is not done here (dyrun has
        terminals)."""
        from dockyard.kernel.console import ExecProcess

        if tty is not None:
            raise NotImplementedKind("exec with a terminal (-t) is not supported by the runc "
                                     "runtime; the default runtime, dyrun, supports it")
        # runc reads the process document from a path before it starts the command; a
        # pipe's path keeps the command's own stdin free.
        read_end, write_end = os.pipe2(os.O_CLOEXEC)
        try:
            proc = subprocess.Popen(
                self._argv("exec", "--process", f"/proc/self/fd/{read_end}", container_id),
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(read_end,))
        finally:
            os.close(read_end)
        with os.fdopen(write_end, "w") as f:
            json.dump(process, f)
        return ExecProcess(proc)

    def delete(self, container_id: str, *, force: bool = False) -> None:
        """Remove runc's state and cgroups for the container; gone already is success."""
        args = ["delete", *(["--force"] if force else []), container_id]
        result = subprocess.run(self._argv(*args), capture_output=True, text=True, timeout=30)
        if result.returncode != 0 and "does not exist" not in result.stderr:
            raise KernelError(f"runc delete {container_id[:12]}: "
                              f"{_runc_message(result.stderr)}")

    def exists(self, container_id: str) -> bool:
        return os.path.exists(os.path.join(self.root, container_id, "state.json"))

    def list_ids(self) -> list[str]:
        with contextlib.suppress(FileNotFoundError):
            return sorted(os.listdir(self.root))
        return []


def spawn_with_fds(binary: str, argv: Sequence[str], fds: Sequence[int]) -> int:
    """``posix_spawn`` with ``fds[i]`` as the child's fd ``i`` (every other descriptor is
    close-on-exec); returns the child's pid."""
    # Move the sources above the target range first, so no dup2 clobbers a source.
    high = [_above(os.dup(fd), len(fds)) for fd in fds]
    try:
        return spawn(binary, argv, _env(), [(fd, i) for i, fd in enumerate(high)])
    finally:
        for fd in high:
            os.close(fd)


def _above(fd: int, minimum: int) -> int:
    if fd >= minimum:
        return fd
    import fcntl

    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, minimum)
    os.close(fd)
    return moved


def _env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}


def _runc_message(stderr: str) -> str:
    """runc logs JSON-ish lines (``level=error msg="..."``); keep the message."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if 'msg="' in line:
            return line.split('msg="', 1)[1].rstrip('"').replace('\\"', '"')
        with contextlib.suppress(ValueError):
            doc = json.loads(line)
            if isinstance(doc, dict) and "msg" in doc:
                return str(doc["msg"])
    return lines[-1] if lines else "failed"


def exec_failure(result: ExecResult) -> tuple[int, str] | None:
    """runc's own failure to start an exec'd process, as Docker's exit code and message."""
    if result.exit_code != 255:
        return None
    text = result.stderr.decode(errors="replace")
    message = _runc_message(text)
    if "no such file" in text or "not found" in text:
        return 127, message
    if "permission denied" in text:
        return 126, message
    return None
