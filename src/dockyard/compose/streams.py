"""Output streams of the API: Docker's multiplexed frames, and prefixed log lines.

Without a TTY, ``/containers/{id}/logs``, ``attach`` and exec output arrive as frames: an
8-byte header (stream 0/1/2, three zero bytes, a big-endian length) then the payload.
With a TTY the bytes come raw. Both become ``(stream, bytes)`` pairs here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

_STREAMS = {0: "stdin", 1: "stdout", 2: "stderr"}


def demux(chunks: Iterable[bytes], *, tty: bool = False) -> Iterator[tuple[str, bytes]]:
    """Frames to ``(stream, payload)``. A body that does not start with a frame header is
    passed through raw as stdout (an engine answering a TTY container)."""
    buf = b""
    raw = tty
    for chunk in chunks:
        if raw:
            if chunk:
                yield "stdout", chunk
            continue
        buf += chunk
        while len(buf) >= 8:
            if buf[0] not in _STREAMS or buf[1:4] != b"\0\0\0":
                raw = True
                yield "stdout", buf
                buf = b""
                break
            size = int.from_bytes(buf[4:8], "big")
            if len(buf) < 8 + size:
                break
            stream, payload, buf = _STREAMS[buf[0]], buf[8:8 + size], buf[8 + size:]
            if payload:
                yield stream, payload
    if buf:
        yield "stdout", buf


class LinePrefixer:
    """Splits one container's output into lines, each behind its ``name  | `` prefix
    (compose's attached-mode format); a partial last line waits for the rest."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._pending = b""

    def feed(self, data: bytes) -> list[str]:
        self._pending += data
        *complete, self._pending = self._pending.split(b"\n")
        return [self._line(line) for line in complete]

    def flush(self) -> list[str]:
        if not self._pending:
            return []
        line, self._pending = self._pending, b""
        return [self._line(line)]

    def _line(self, line: bytes) -> str:
        return f"{self.prefix}{line.decode(errors='replace').rstrip(chr(13))}\n"


def prefixes(names: Iterable[str]) -> dict[str, str]:
    """``{"web-1": "web-1  | ", "db-1": "db-1   | "}``: names padded to the longest."""
    listed = list(names)
    width = max((len(n) for n in listed), default=0)
    return {n: f"{n:<{width}}  | " for n in listed}
