"""stdin and terminals through the daemon: ``run -i``/``-t``, ``exec -it``, ``attach``,
``start -ai``, with our CLI, docker-py and the real docker CLI. Piped stdin is fed
through pipes; a terminal session is driven through a pseudo-terminal made here (the CLI
runs on its slave side, as under a real terminal): we type, and read what comes back."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import select
import shutil
import signal
import struct
import termios
import time
from collections.abc import Iterator, Sequence

import pytest

from tests.e2e.daemon import DOCKYARD, Daemon, ok

pytestmark = pytest.mark.root

PROMPT = "/ # "
needs_docker = pytest.mark.skipif(shutil.which("docker") is None,
                                  reason="the docker CLI is not installed on this machine")


class Terminal:
    """A command on the slave side of a pseudo-terminal of ours, of ``rows`` x ``cols``."""

    def __init__(self, argv: Sequence[str], rows: int = 24, cols: int = 80,
                 env: dict[str, str] | None = None) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: size its terminal first, then become the command
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
                os.execvpe(argv[0], list(argv), env if env is not None else dict(os.environ))
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.seen = b""
        self.code: int | None = None

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def expect(self, wanted: str, timeout: float = 15) -> str:
        """Read until ``wanted`` has appeared (after what earlier calls matched)."""
        deadline = time.monotonic() + timeout
        while wanted.encode() not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"{wanted!r} not seen; got {self.seen!r}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # EIO: the command has closed the terminal
                    chunk = b""
                assert chunk, f"{wanted!r} not seen before the end; got {self.seen!r}"
                self._take(chunk)
        before, _, self.seen = self.seen.partition(wanted.encode())
        return before.decode(errors="replace") + wanted

    def _take(self, chunk: bytes) -> None:
        self.seen += chunk

    def command(self, line: str) -> str:
        """Type a line at the shell's prompt (already seen) and return what came until the
        next prompt: typed ahead, the line would be echoed before the prompt instead."""
        self.type(line + "\r")
        # The end of its echo first: the prompt may be redrawn (SIGWINCH) while we type.
        self.expect("\r\n")
        return self.expect(PROMPT)

    def resize(self, rows: int, cols: int) -> None:
        """What a terminal window does: the kernel sends SIGWINCH to the command."""
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def wait(self, timeout: float = 20) -> int:
        deadline = time.monotonic() + timeout
        while self.code is None:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.code = os.waitstatus_to_exitcode(status)
                break
            assert time.monotonic() < deadline, f"still running; output {self.seen!r}"
            with contextlib.suppress(OSError):  # keep the terminal drained meanwhile
                if select.select([self.fd], [], [], 0.05)[0]:
                    self._take(os.read(self.fd, 4096))
        return self.code

    def close(self) -> None:
        if self.code is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
        os.close(self.fd)


@contextlib.contextmanager
def terminal(argv: Sequence[str], rows: int = 24, cols: int = 80,
             env: dict[str, str] | None = None) -> Iterator[Terminal]:
    term = Terminal(argv, rows, cols, env)
    try:
        yield term
    finally:
        term.close()


def ours(d: Daemon, *args: str) -> list[str]:
    return [DOCKYARD, "--host", d.url, *args]


def theirs(d: Daemon, *args: str) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ, DOCKER_CONFIG=os.path.join(os.path.dirname(d.socket),
                                                      "docker-config"))
    env.pop("DOCKER_HOST", None)
    return ["docker", "-H", d.url, *args], env


def inspect(d: Daemon, ref: str) -> dict[str, object]:
    doc = json.loads(ok(d.cli("inspect", ref)))[0]
    assert isinstance(doc, dict)
    return doc


def _shell_session(term: Terminal, exit_code: int, rows: int, cols: int) -> None:
    """A shell on a terminal in the container: arithmetic, its tty, its size (at start
    and after a resize of ours), then an exit code of its choosing."""
    term.expect(PROMPT)
    assert "42\r\n" in term.command("echo $((6*7))")
    assert "/dev/pts/" in term.command("tty")
    assert term.command("stty size").startswith(f"{rows} {cols}\r\n")
    term.resize(rows + 7, cols + 13)
    # The size arrives through SIGWINCH, the client and the daemon: ask until it shows.
    deadline = time.monotonic() + 10
    while f"{rows + 7} {cols + 13}" not in (answer := term.command("stty size")):
        assert time.monotonic() < deadline, answer
        time.sleep(0.1)
    term.type(f"exit {exit_code}\r")
    assert term.wait() == exit_code


# ------------------------------------------------------------------ our CLI


def test_cli_piped_stdin_exit_codes_and_not_a_tty(busybox: Daemon) -> None:
    d = busybox
    echoed = d.cli("run", "-i", "--rm", "busybox", "cat", stdin=b"hi\n")
    assert (echoed.returncode, echoed.stdout, echoed.stderr) == (0, "hi\n", "")
    assert d.cli("run", "-i", "--rm", "busybox", "sh", "-c", "exit 3").returncode == 3
    read = d.cli("run", "-i", "--name", "reader", "busybox", "sh", "-c",
                 "read a; read b; echo \"$b $a\"; cat; exit 4", stdin=b"one\ntwo\nrest\n")
    assert (read.returncode, read.stdout) == (4, "two one\nrest\n")
    config = inspect(d, "reader")["Config"]
    assert isinstance(config, dict)
    assert (config["OpenStdin"], config["StdinOnce"], config["AttachStdin"],
            config["Tty"]) == (True, True, True, False)

    refused = d.cli("run", "-it", "--name", "never", "busybox", "sh", stdin=b"")
    assert (refused.returncode, refused.stderr) == (1, "the input device is not a TTY\n")
    assert d.cli("inspect", "never").returncode != 0  # nothing was created

    ok(d.cli("run", "-d", "--name", "box", "busybox", "sleep", "300"))
    piped = d.cli("exec", "-i", "box", "sh", "-c", "tr a-z A-Z; exit 6", stdin=b"abc\n")
    assert (piped.returncode, piped.stdout) == (6, "ABC\n")
    no_tty = d.cli("exec", "-it", "box", "sh", stdin=b"")
    assert (no_tty.returncode, no_tty.stderr) == (1, "the input device is not a TTY\n")


def test_cli_run_it_shell_resize_and_logs(busybox: Daemon) -> None:
    d = busybox
    with terminal(ours(d, "run", "-it", "--name", "term", "busybox", "sh"), 31, 97) as term:
        _shell_session(term, 5, 31, 97)
    doc = inspect(d, "term")
    assert doc["State"]["ExitCode"] == 5  # type: ignore[index]
    assert doc["Config"]["Tty"] is True  # type: ignore[index]
    logs = ok(d.cli("logs", "term"))
    assert "42\n" in logs and "/dev/pts/0\n" in logs  # a terminal's output is logged
    # -t alone, --rm: the output of a command that is gone at once still arrives whole
    with terminal(ours(d, "run", "-t", "--rm", "busybox", "sh", "-c",
                       "seq 3000; exit 3")) as term:
        term.expect("\n3000\r")  # our terminal is not raw (no -i): it adds a \r
        assert term.wait() == 3


def test_cli_exec_it_and_detach_keys_then_attach(busybox: Daemon) -> None:
    d = busybox
    ok(d.cli("run", "-d", "--name", "svc", "busybox", "sleep", "300"))
    with terminal(ours(d, "exec", "-it", "svc", "sh"), 22, 70) as term:
        _shell_session(term, 7, 22, 70)
    with terminal(ours(d, "exec", "-it", "svc", "sh")) as term:  # left running
        term.expect(PROMPT)
        term.type("exec sleep 1234\r")
        term.expect("\r\n")
        term.type("\x10")
        time.sleep(0.05)
        term.type("\x11")
        assert term.wait() == 1  # as docker exec: detaching is its error
        term.expect("read escape sequence")
    assert "sleep 1234" in ok(d.cli("top", "svc"))

    # run -it, then leave it with ctrl-p ctrl-q: the shell keeps running
    with terminal(ours(d, "run", "-it", "--name", "bg", "busybox", "sh")) as term:
        term.expect(PROMPT)
        term.command("export MARK=kept")
        term.type("\x10")
        time.sleep(0.05)  # typed, not pasted: Docker counts the keys one at a time
        term.type("\x11")
        assert term.wait() == 0
    assert inspect(d, "bg")["State"]["Running"] is True  # type: ignore[index]
    with terminal(ours(d, "attach", "bg")) as term:
        term.type("echo $MARK-again\r")
        term.expect("kept-again\r\n")
        term.type("\x10")
        time.sleep(0.05)
        term.type("\x11")
        assert term.wait() == 1  # as docker attach: detaching is its error
        term.expect("read escape sequence")
    with terminal(ours(d, "attach", "bg")) as term:
        term.type("exit 2\r")
        assert term.wait() == 2

    stopped = d.cli("attach", "bg")
    assert (stopped.returncode, stopped.stderr) == (
        1, "dockyard: You cannot attach to a stopped container, start it first\n")


def test_cli_start_ai_and_create_i(busybox: Daemon) -> None:
    d = busybox
    ok(d.cli("create", "-i", "--name", "later", "busybox", "sh", "-c", "cat; exit 9"))
    started = d.cli("start", "-ai", "later", stdin=b"from start\n")
    assert (started.returncode, started.stdout) == (9, "from start\n")
    again = d.cli("start", "-ai", "later", stdin=b"second run\n")
    assert (again.returncode, again.stdout) == (9, "second run\n")
    ok(d.cli("create", "-it", "--name", "tty", "busybox", "sh"))
    with terminal(ours(d, "start", "-ai", "tty"), 26, 90) as term:
        _shell_session(term, 3, 26, 90)


# ------------------------------------------------------------- docker CLI


@needs_docker
def test_docker_cli_stdin_and_terminals(busybox: Daemon) -> None:
    d = busybox
    piped = d.docker("run", "-i", "--rm", "busybox", "cat", stdin="hi\n")
    assert (piped.returncode, piped.stdout) == (0, "hi\n")
    assert d.docker("run", "-i", "--rm", "busybox", "sh", "-c", "exit 3",
                    stdin="").returncode == 3
    refused = d.docker("run", "-it", "busybox", "sh", stdin="")
    assert (refused.returncode, refused.stderr) == (1, "the input device is not a TTY\n")

    argv, env = theirs(d, "run", "-it", "--name", "dterm", "busybox", "sh")
    with terminal(argv, 28, 101, env) as term:
        _shell_session(term, 4, 28, 101)
    assert inspect(d, "dterm")["State"]["ExitCode"] == 4  # type: ignore[index]

    ok(d.docker("run", "-d", "--name", "dsvc", "busybox", "sleep", "300"))
    exec_piped = d.docker("exec", "-i", "dsvc", "sh", "-c", "cat; exit 5", stdin="in\n")
    assert (exec_piped.returncode, exec_piped.stdout) == (5, "in\n")
    argv, env = theirs(d, "exec", "-it", "dsvc", "sh")
    with terminal(argv, 20, 60, env) as term:
        _shell_session(term, 8, 20, 60)

    # the detach keys leave the container running; docker attach, then, says so
    argv, env = theirs(d, "run", "-it", "--name", "dbg", "busybox", "sh")
    with terminal(argv, 24, 80, env) as term:
        term.expect(PROMPT)
        term.type("\x10")
        time.sleep(0.05)
        term.type("\x11")
        assert term.wait() == 0, term.seen
    argv, env = theirs(d, "attach", "dbg")
    with terminal(argv, 24, 80, env) as term:
        term.type("echo $((6*7))\r")
        term.expect("42\r\n")
        term.type("\x10")
        time.sleep(0.05)
        term.type("\x11")
        assert term.wait() == 1
        term.expect("read escape sequence")
    assert inspect(d, "dbg")["State"]["Running"] is True  # type: ignore[index]


# ---------------------------------------------------------------- docker-py


def _read_until(sock: object, wanted: bytes, timeout: float = 15) -> bytes:
    raw = getattr(sock, "_sock", sock)
    raw.settimeout(timeout)  # type: ignore[attr-defined]
    seen = b""
    while wanted not in seen:
        chunk = raw.recv(4096)  # type: ignore[attr-defined]
        assert chunk, f"{wanted!r} not seen; got {seen!r}"
        seen += chunk
    return seen


def test_dockerpy_attach_socket_resize_and_exec_stdin(busybox: Daemon) -> None:
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=busybox.url, version="auto")
    try:
        c = client.containers.run("busybox", "sh", stdin_open=True, tty=True, detach=True,
                                  name="py")
        sock = c.attach_socket(params={"stdin": 1, "stdout": 1, "stream": 1})
        raw = getattr(sock, "_sock", sock)
        raw.sendall(b"echo $((6*7))\n")
        _read_until(sock, b"42\r\n")
        c.resize(height=33, width=77)
        assert c.exec_run(["stty", "-F", "/dev/pts/0", "size"]).output == b"33 77\n"
        raw.sendall(b"exit 6\n")
        assert c.wait(timeout=20)["StatusCode"] == 6
        assert b"42\r\n" in c.logs()  # a tty container's logs come unframed
        sock.close()
        raw.close()

        box = client.containers.run("busybox", ["sleep", "300"], detach=True)
        api = client.api
        exec_id = api.exec_create(box.id, ["sh", "-c", "cat; exit 3"], stdin=True)["Id"]
        stream = api.exec_start(exec_id, socket=True)
        raw = getattr(stream, "_sock", stream)
        raw.sendall(b"through exec\n")
        raw.shutdown(__import__("socket").SHUT_WR)
        data = _read_until(stream, b"through exec\n")
        stream.close()
        raw.close()
        assert data.endswith(b"through exec\n") and data[0] == 1  # a stdout frame
        deadline = time.monotonic() + 10
        while api.exec_inspect(exec_id)["Running"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert api.exec_inspect(exec_id)["ExitCode"] == 3
    finally:
        client.close()


# --------------------------------------------------------------- bad requests


def test_api_refuses_bad_sizes_keys_and_states(busybox: Daemon) -> None:
    d = busybox
    status, doc = d.api("POST", "/containers/create", {
        "Image": "busybox", "Cmd": ["sh"], "Tty": True, "OpenStdin": True,
        "HostConfig": {"ConsoleSize": [30, 90]}})
    assert status == 201
    cid = doc["Id"]  # type: ignore[index]
    assert inspect(d, cid)["HostConfig"]["ConsoleSize"] == [30, 90]  # type: ignore[index]
    assert d.api("POST", f"/containers/{cid}/resize", query={"h": "10", "w": "20"}) == (
        409, {"message": f"Container {cid} is not running"})
    status, doc = d.api("POST", f"/containers/{cid}/resize", query={"h": "x", "w": "20"})
    assert (status, doc) == (400, {"message": 'invalid resize height "x": must be an '
                                              "integer from 0 to 65535"})
    status, doc = d.api("POST", f"/containers/{cid}/attach",
                        query={"stream": "1", "detachKeys": "ctrl-1"})
    assert (status, doc) == (400, {"message": "Invalid detach keys (ctrl-1) provided"})
    status, doc = d.api("POST", "/containers/create", {
        "Image": "busybox", "HostConfig": {"ConsoleSize": [30]}})
    assert status == 400 and "HostConfig.ConsoleSize" in doc["message"]  # type: ignore[index]
    assert d.api("POST", "/exec/nope/resize", query={"h": "1", "w": "1"})[0] == 404
    ok(d.cli("start", cid))
    assert d.api("POST", f"/containers/{cid}/resize", query={"h": "10", "w": "20"})[0] == 200
    assert ok(d.cli("exec", cid, "stty", "-F", "/dev/pts/0", "size")) == "10 20\n"
    status, doc = d.api("POST", f"/containers/{cid}/exec",
                        {"Cmd": ["sh"], "DetachKeys": "nope"})
    assert (status, doc) == (400, {"message": "Invalid detach keys (nope) provided"})
