"""Container logs: Docker's json-file lines written by the container's init (pure reads).

Each line of ``<container dir>/json.log`` is ``{"log": "...\\n", "stream":
"stdout"|"stderr", "time": "<RFC 3339, nanoseconds>"}``. The file is written from inside
the container, so it is readable while the container runs, after it exits, and across a
restart of the manager.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class LogRecord:
    stream: str  # "stdout" | "stderr"
    data: str
    time: str  # RFC 3339 with nanoseconds, UTC

    def format(self, *, timestamps: bool = False) -> str:
        return f"{self.time} {self.data}" if timestamps else self.data


def parse_line(line: str) -> LogRecord | None:
    try:
        doc = json.loads(line)
    except ValueError:
        return None  # a torn final line of a container still writing
    if not isinstance(doc, dict):
        return None
    return LogRecord(str(doc.get("stream", "stdout")), str(doc.get("log", "")),
                     str(doc.get("time", "")))


def read_records(path: str, offset: int = 0) -> tuple[list[LogRecord], int]:
    """Whole records from ``offset`` on, and the offset after the last whole line."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    records = [r for raw in data[:end].decode(errors="replace").splitlines()
               if (r := parse_line(raw)) is not None]
    return records, offset + end


def select(
    records: list[LogRecord], *, stdout: bool = True, stderr: bool = True,
    since: str | None = None, tail: int | None = None,
) -> Iterator[LogRecord]:
    chosen = [r for r in records
              if (r.stream == "stdout" and stdout) or (r.stream == "stderr" and stderr)]
    if since:
        chosen = [r for r in chosen if r.time >= since]
    if tail is not None:
        chosen = chosen[-tail:] if tail > 0 else []
    yield from chosen
