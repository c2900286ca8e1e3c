"""stdin and terminals of containers and execs, through the manager: a pipe the manager
writes, a terminal of the container's own devpts whose master the manager holds (and a
next manager takes back), execs with a terminal or a stdin pipe."""

from __future__ import annotations

import os
import queue
import select

import pytest

from dockyard.engine import Engine
from dockyard.errors import NotImplementedKind
from dockyard.runtime import ContainerManager, ContainerSpec
from dockyard.runtime.stdio import Console
from tests.integration.hosts import Host, wait_for
from tests.integration.runtime.conftest import finish, make_manager

pytestmark = pytest.mark.root


class Output:
    """What a console's subscriber gets, until its run ends (None)."""

    def __init__(self, console: Console) -> None:
        self.chunks: queue.Queue[bytes | None] = queue.Queue()
        self.sub = console.subscribe(self.chunks.put)
        self.seen = b""

    def until(self, wanted: bytes, timeout: float = 10) -> bytes:
        while wanted not in self.seen:
            chunk = self.chunks.get(timeout=timeout)
            assert chunk is not None, f"{wanted!r} not seen before the end: {self.seen!r}"
            self.seen += chunk
        return self.seen

    def end(self, timeout: float = 10) -> bytes:
        while (chunk := self.chunks.get(timeout=timeout)) is not None:
            self.seen += chunk
        return self.seen


def logged(manager: ContainerManager, ref: str) -> str:
    return "".join(r.data for r in manager.logs(ref))


def test_stdin_pipe_queued_before_the_start(manager: ContainerManager) -> None:
    c = manager.create(ContainerSpec("busybox", name="cat", cmd=("sh", "-c", "cat; exit 3"),
                                     open_stdin=True, stdin_once=True))
    if manager.runtime.name == "dyrun":  # no init: the command reads the pipe as PID 1
        probe = manager.create(ContainerSpec(
            "busybox", cmd=("sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; cat"),
            open_stdin=True, stdin_once=True))
        manager.console(probe.id).write(b"piped\n")
        manager.console(probe.id).close_stdin()
        manager.start(probe.id)
        assert manager.wait(probe.id, timeout=10) == 0
        assert logged(manager, probe.id).startswith("sh -c cat /proc/1/cmdline")
        assert logged(manager, probe.id).endswith("\npiped\n")
    console = manager.console(c.id)
    assert console.write(b"before start\n")  # queued: docker run -i sends before start
    manager.start(c.id)
    assert console.write(b"after\n")
    console.close_stdin()
    assert manager.wait(c.id, timeout=10) == 3
    assert logged(manager, "cat") == "before start\nafter\n"
    # A second run gets a pipe of its own; its input is queued again.
    assert manager.console(c.id).write(b"again\n")
    manager.console(c.id).close_stdin()
    manager.start(c.id)
    assert manager.wait(c.id, "next-exit", timeout=10) == 3
    assert logged(manager, "cat").endswith("after\nagain\n")


def test_terminal_size_input_output_and_log(manager: ContainerManager) -> None:
    c = manager.create(ContainerSpec("busybox", name="term", cmd=("sh",), tty=True,
                                     open_stdin=True, console_size=(30, 90)))
    console = manager.console(c.id)
    out = Output(console)
    manager.start(c.id)
    console.write(b"tty; stty size; echo $TERM $((6*7))\n")
    out.until(b"xterm 42\r\n")
    assert b"/dev/pts/0\r\n30 90\r\n" in out.seen
    # PID 1 is the shell itself (as in Docker), unless an init is (runc: dyinit)
    console.write(b"echo pid1=$(cat /proc/1/comm)\n")
    out.until(b"pid1=" + (b".dyinit" if manager.runtime.name == "runc" else b"sh") + b"\r\n")
    manager.resize(c.id, 41, 132)
    console.write(b"stty size; exit 4\n")
    assert b"41 132\r\n" in out.end()
    assert manager.wait(c.id, timeout=10) == 4
    assert "xterm 42\r\n" in logged(manager, "term")  # the terminal's output is logged


def test_exec_with_a_terminal_or_a_stdin_pipe(manager: ContainerManager, runtime: str) -> None:
    manager.run(ContainerSpec("busybox", name="box", cmd=("sleep", "60")))
    piped = manager.exec_spawn("box", ["sh", "-c", "tr a-z A-Z; exit 2"], stdin=True)
    out, _ = piped.proc.communicate(b"quiet\n", timeout=10)
    assert (piped.proc.returncode, out) == (2, b"QUIET\n")
    piped.close()
    if runtime == "runc":
        with pytest.raises(NotImplementedKind, match="runc"):
            manager.exec_spawn("box", ["sh"], tty=(24, 80))
        return
    term = manager.exec_spawn("box", ["sh", "-c", "tty; stty size; exit 5"], tty=(21, 61))
    assert term.master is not None
    seen = b""
    while True:
        select.select([term.master], [], [], 10)
        try:
            chunk = os.read(term.master, 4096)
        except OSError:  # EIO: the command and its terminal are gone
            break
        if not chunk:
            break
        seen += chunk
    assert term.proc.wait(timeout=10) == 5
    assert seen == b"/dev/pts/0\r\n21 61\r\n"
    term.close()


def test_a_next_manager_takes_the_terminal_back(
        engine: Engine, host: Host, init_binary: str, dyrun_binary: str) -> None:
    first = make_manager(engine, host, init_binary, "dyrun", dyrun_binary)
    second = None
    try:
        c = first.create(ContainerSpec("busybox", name="kept", cmd=("sh",), tty=True,
                                       open_stdin=True))
        out = Output(first.console(c.id))
        first.start(c.id)
        first.console(c.id).write(b"export MARK=still-here\n")
        out.until(b"# ")
        first.close()  # the manager goes; the shell keeps its terminal (dyinit's copy)
        second = make_manager(engine, host, init_binary, "dyrun", dyrun_binary)
        again = Output(second.console(c.id))
        second.console(c.id).write(b"echo $MARK; exit 6\n")
        again.until(b"still-here\r\n")
        wait_for(lambda: not second.inspect("kept")["State"]["Running"], what="exit")
        assert second.inspect("kept")["State"]["ExitCode"] == 6
    finally:
        finish(first, second,
               lambda: make_manager(engine, host, init_binary, "dyrun", dyrun_binary))
