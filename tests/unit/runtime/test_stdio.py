"""stdin and terminals without a container: the manager's Console over a pipe and over a
pseudo-terminal of our own (whose master we send as dyinit would), Docker's detach keys,
the flags and bodies that ask for stdin and a terminal, dyrun's exec directives."""

from __future__ import annotations

import json
import os
import queue
import socket
import tty
from pathlib import Path
from typing import Any

import pytest

from dockyard.api.container_json import parse_create
from dockyard.cli.flags import parse
from dockyard.cli.run_opts import RUN_FLAGS, create_body, split_command
from dockyard.errors import InvalidParameter
from dockyard.escape import EscapeFilter, parse_detach_keys
from dockyard.kernel import console as kconsole
from dockyard.kernel.lean import exec_args
from dockyard.runtime.stdio import LOG_LINE_MAX, Console

CID = "c" * 64


def read_all(fd: int) -> bytes:
    out = b""
    while chunk := os.read(fd, 4096):
        out += chunk
    return out


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_stdin_pipe_queues_before_the_run_and_closes_at_stdin_once(tmp_path: Path) -> None:
    console = Console(CID, str(tmp_path / "json.log"), tty=False)
    assert console.prepare() == "stdin"
    command_stdin = os.dup(console.child_fd)  # what the init's fd 6 would be
    console.spawned()
    assert console.write(b"early ")  # before the run: queued
    console.begin()
    assert console.live
    assert console.write(b"late\n")
    console.close_stdin()
    assert read_all(command_stdin) == b"early late\n"  # then EOF: our end was closed
    os.close(command_stdin)
    console.exited()
    assert not console.live
    assert console.write(b"next")  # queued for the next run
    console.discard()


def test_terminal_output_is_published_and_logged_input_and_size_reach_it(
        tmp_path: Path) -> None:
    log = tmp_path / "json.log"
    console = Console(CID, str(log), tty=True)
    assert console.prepare(30, 90) == "tty 30 90"
    init_side = socket.socket(fileno=os.dup(console.child_fd))
    console.spawned()
    master, slave = os.openpty()
    tty.setraw(slave)  # bytes as they are, both ways: no echo, no \r added
    socket.send_fds(init_side, [b"t"], [master])  # as dyinit sends its terminal
    os.close(master)
    init_side.close()
    chunks: queue.Queue[bytes | None] = queue.Queue()
    sub = console.subscribe(chunks.put)
    assert not sub.began  # it waits for the next run
    console.begin()
    assert sub.began and console.live

    os.write(slave, b"hello\r\npartial")
    seen = b""
    while b"partial" not in seen:
        chunk = chunks.get(timeout=5)
        assert chunk is not None
        seen += chunk
    console.write(b"typed\n")
    assert os.read(slave, 100) == b"typed\n"
    console.resize(41, 132)
    assert kconsole.get_size(slave) == (41, 132)

    os.close(slave)  # the command and every holder of the terminal are gone
    while (chunk := chunks.get(timeout=5)) is not None:
        pass
    assert not console.live
    assert [(r["log"], r["stream"]) for r in records(log)] == [
        ("hello\r\n", "stdout"), ("partial", "stdout")]
    assert records(log)[0]["time"].endswith("Z") and len(records(log)[0]["time"]) == 30
    console.discard()


def test_long_terminal_lines_are_split_as_docker_splits_them(tmp_path: Path) -> None:
    from dockyard.runtime.stdio import _LogWriter

    log = tmp_path / "json.log"
    writer = _LogWriter(str(log))
    writer.feed(b"x" * (LOG_LINE_MAX + 5) + b"\n\xff\n")
    writer.close()
    assert [len(r["log"]) for r in records(log)] == [LOG_LINE_MAX, 6, 2]
    assert records(log)[2]["log"] == "\ufffd\n"


def test_detach_keys() -> None:
    assert parse_detach_keys("ctrl-p,ctrl-q") == b"\x10\x11"
    assert parse_detach_keys("a,ctrl-@,ctrl-\\,ctrl-_") == b"a\x00\x1c\x1f"
    for bad in ("ctrl-1", "ctrl-", "ab", ""):
        with pytest.raises(InvalidParameter, match=r"Invalid detach keys \(.*\) provided"):
            parse_detach_keys(bad)
    escape = EscapeFilter(b"\x10\x11")
    assert [escape.feed(x) for x in (b"a", b"\x10", b"b")] == [
        (b"a", False), (b"", False), (b"\x10b", False)]
    assert [escape.feed(x) for x in (b"\x10", b"\x11")] == [(b"", False), (b"", True)]
    assert escape.feed(b"\x10\x11") == (b"\x10\x11", False)  # pasted: not a detach
    assert EscapeFilter(b"").feed(b"\x10") == (b"\x10", False)


def body_for(*args: str, size: tuple[int, int] | None = None) -> dict[str, Any]:
    flags, command = split_command(list(args), RUN_FLAGS)
    opts, rest = parse(RUN_FLAGS, flags)
    return create_body(opts, rest[0], command, {}, console_size=size)


def test_run_flags_for_stdin_and_terminal() -> None:
    def fields(body: dict[str, Any]) -> tuple[bool, ...]:
        return tuple(body[k] for k in ("Tty", "OpenStdin", "StdinOnce", "AttachStdin",
                                       "AttachStdout"))

    assert fields(body_for("busybox")) == (False, False, False, False, True)
    assert fields(body_for("-it", "busybox")) == (True, True, True, True, True)
    assert fields(body_for("-dit", "busybox")) == (True, True, False, False, False)
    assert body_for("-t", "busybox", size=(30, 90))["HostConfig"]["ConsoleSize"] == [30, 90]
    assert "ConsoleSize" not in body_for("busybox", size=(30, 90))["HostConfig"]
    spec = parse_create(body_for("-it", "busybox", size=(30, 90)), None).spec
    assert (spec.tty, spec.open_stdin, spec.stdin_once, spec.attach_stdin,
            spec.console_size) == (True, True, True, True, (30, 90))


def test_console_size_is_checked() -> None:
    for bad in ([1], [1, -1], [1, "2"], [70000, 1], "30x90"):
        with pytest.raises(InvalidParameter, match=r"HostConfig\.ConsoleSize"):
            parse_create({"Image": "busybox", "HostConfig": {"ConsoleSize": bad}}, None)
    assert parse_create({"Image": "busybox", "HostConfig": {"ConsoleSize": None}},
                        None).spec.console_size == (0, 0)


def test_exec_directives_with_a_terminal() -> None:
    process = {"args": ["sh"], "env": [], "cwd": "/", "user": {"uid": 0, "gid": 0}}
    assert exec_args(7, process, tty=(9, 24, 80))[:6] == ["exec", "--pid", "7", "--tty",
                                                         "9", "24"]
    assert "--tty" not in exec_args(7, process)
