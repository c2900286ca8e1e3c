"""``ps`` output cut down to a container's pids (pure)."""

from __future__ import annotations

import pytest

from dockyard.errors import InvalidParameter, KernelError
from dockyard.kernel.ps import check_args, parse_table

OUTPUT = """\
UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 07:00 ?        00:00:02 /sbin/init splash
root         812     800  0 08:25 ?        00:00:00 sh -c sleep 1 & wait
root         813     812  0 08:25 ?        00:00:00 sleep 1
"""


def test_rows_of_the_container_only_with_the_command_whole() -> None:
    titles, rows = parse_table(OUTPUT, [812, 813])
    assert titles == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert [r[1] for r in rows] == ["812", "813"]
    assert rows[0][-1] == "sh -c sleep 1 & wait"


def test_a_table_without_pids_is_an_error() -> None:
    with pytest.raises(KernelError, match="Couldn't find PID field"):
        parse_table("USER COMMAND\nroot init\n", [1])


def test_arguments_split_as_dockerd_splits_them() -> None:
    assert check_args("-eo  pid,comm") == ["-eo", "pid,comm"]
    with pytest.raises(InvalidParameter, match="-o needs a format"):
        check_args("-o")
