"""posix_spawn through ctypes: arguments, environment and descriptors as asked."""

from __future__ import annotations

import errno
import os

import pytest

from dockyard.kernel.oci import spawn_with_fds
from dockyard.kernel.spawn import spawn


def _output(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 4096):
        chunks.append(chunk)
    return b"".join(chunks)


def test_child_gets_argv_env_and_descriptors_on_their_numbers() -> None:
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    try:
        pid = spawn("/bin/sh", ["sh", "-c", 'echo "$0 $GREETING" >&5', "named"],
                    {"GREETING": "hello there"}, [(write_end, 5)])
        os.close(write_end)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert _output(read_end) == b"named hello there\n"
    finally:
        os.close(read_end)


def test_fds_are_placed_even_when_sources_overlap_the_targets() -> None:
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    try:
        pid = spawn_with_fds("/bin/sh", ["sh", "-c", "echo out; echo err >&2"],
                             (null, write_end, write_end))
        os.close(write_end)
        os.waitpid(pid, 0)
        assert _output(read_end) == b"out\nerr\n"
    finally:
        os.close(read_end)
        os.close(null)


def test_missing_binary_is_an_oserror_naming_it() -> None:
    with pytest.raises(OSError) as info:
        spawn("/nonexistent/dyrun", ["dyrun"], {})
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == "/nonexistent/dyrun"
