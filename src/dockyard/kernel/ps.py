"""The host's ``ps`` over a container's processes, as dockerd runs it for ``docker top``:
the user's ``ps`` arguments (``-ef`` by default) and the container's pids, its table
parsed and cut down to those pids.

Why the host's ``ps`` and not /proc read here: ``top``'s arguments are ``ps``'s (``aux``,
``-o pid,comm``, ``-eLf`` …), and its columns, widths and errors are what users expect
from Docker, which runs the same tool. Without ``ps`` on the machine the caller falls
back to a short table of its own.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

from dockyard.errors import InvalidParameter, KernelError


def available() -> bool:
    return shutil.which("ps") is not None


def check_args(ps_args: str) -> list[str]:
    """The arguments, split on spaces as dockerd splits them; an ``-o`` list with spaces
    in it cannot be told from the next argument, so it is refused."""
    args = [a for a in ps_args.split(" ") if a]
    for index, arg in enumerate(args):
        if arg == "-o" and index + 1 >= len(args):
            raise InvalidParameter(f'invalid ps arguments "{ps_args}": -o needs a format')
    return args


def run_ps(args: Sequence[str], pids: Sequence[int]) -> str:
    """``ps ARGS -q PIDS`` (only those processes); some options (``f``, forest) refuse
    ``-q``, and then the whole table is asked for and cut down by :func:`parse_table`."""
    listed = ",".join(str(p) for p in pids)
    first = subprocess.run(["ps", *args, "-q", listed], capture_output=True, text=True)
    if first.returncode == 0:
        return first.stdout
    again = subprocess.run(["ps", *args], capture_output=True, text=True)
    if again.returncode != 0:
        reason = (again.stderr.strip().splitlines() or ["failed"])[0]
        raise KernelError(f"ps: {reason}")
    return again.stdout


def parse_table(output: str, pids: Sequence[int]) -> tuple[list[str], list[list[str]]]:
    """(titles, rows) of the processes in ``pids``: the header names the columns, every
    column but the last is one word, and the last (the command) takes the rest."""
    lines = output.splitlines()
    if not lines:
        raise KernelError("ps printed nothing")
    titles = lines[0].split()
    if "PID" not in titles:
        raise KernelError(f"Couldn't find PID field in ps output: {lines[0].strip()}")
    pid_column = titles.index("PID")
    wanted = {str(p) for p in pids}
    rows = []
    for line in lines[1:]:
        fields = line.split(None, len(titles) - 1)
        if len(fields) > pid_column and fields[pid_column] in wanted:
            rows.append(fields)
    return titles, rows
