"""Interactive sessions of the CLI (``run -i/-t``, ``exec -it``, ``attach``, ``start -ai``),
the docker CLI's way: the local stdin goes to the hijacked connection (a thread; its end
half-closes the connection), the output comes back; with ``-t`` and a terminal on stdin
the local terminal is raw while the session runs, its size is sent at the start and on
every SIGWINCH, and the detach keys (ctrl-p ctrl-q) leave the container running.
"""

import posix  # not os: importing it costs ~2 ms of every attached run or exec here
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading
    from collections.abc import Callable
    from typing import Any

    from dockyard.client.http import Hijacked

NOT_A_TTY = "the input device is not a TTY"


def tty_refused(attach_stdin: bool, tty: bool) -> bool:
    """docker's check: a terminal with stdin attached needs a terminal on our stdin; says
    so on stderr (the caller exits 1)."""
    if tty and attach_stdin and not posix.isatty(0):
        print(NOT_A_TTY, file=sys.stderr)
        return True
    return False


def local_size() -> tuple[int, int] | None:
    """(rows, cols) of the terminal on our stdout (where docker asks), None if none."""
    try:
        size = posix.get_terminal_size(1)
    except OSError:
        return None
    return size.lines, size.columns


def detach_keys(text: str | None) -> bytes:
    from dockyard.escape import DEFAULT_DETACH_KEYS, parse_detach_keys

    return parse_detach_keys(text or DEFAULT_DETACH_KEYS)


class _RawTerminal:
    """The local terminal in raw mode (no echo, no line editing, no signals: every key goes
    to the container's terminal) until the session ends."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and posix.isatty(0)
        self._saved: list[Any] | None = None

    def __enter__(self) -> "_RawTerminal":
        if self.enabled:
            import termios
            import tty

            self._saved = termios.tcgetattr(0)
            # TCSANOW, as docker: what was typed ahead is kept (TCSAFLUSH would drop it)
            tty.setraw(0, termios.TCSANOW)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None:
            import termios

            termios.tcsetattr(0, termios.TCSADRAIN, self._saved)


def session(stream: "Hijacked", *, stdin: bool, tty: bool, keys: bytes = b"",
            resize: "Callable[[int, int], None] | None" = None) -> bool:
    """Run one attached session to its end; True if the user typed the detach keys."""
    detached: threading.Event | None = None
    with _RawTerminal(tty and stdin), _WindowSize(resize if tty else None):
        if stdin:  # after the terminal went raw: every key from now on is read raw
            # Imported only here: threading pulls in ~8 modules (~5 ms), which an attached
            # `run` without -i would pay while its container runs.
            from threading import Event, Thread

            detached = Event()
            Thread(target=_send_stdin, daemon=True,
                   args=(stream, keys if tty else b"", detached)).start()
        _receive(stream)
    return detached is not None and detached.is_set()


def _send_stdin(stream: "Hijacked", keys: bytes, detached: "threading.Event") -> None:
    from dockyard.escape import EscapeFilter

    escape = EscapeFilter(keys)
    while True:
        try:
            data = posix.read(0, 32768)
        except OSError:
            data = b""
        if not data:
            stream.close_write()  # the end of stdin; the output still comes
            return
        data, hit = escape.feed(data)
        try:
            if data:
                stream.send(data)
        except OSError:
            return
        if hit:
            detached.set()
            stream.shutdown()  # wakes the output side, which then ends
            return


def _receive(stream: "Hijacked") -> None:
    out, err = sys.stdout.buffer, sys.stderr.buffer
    try:
        for kind, data in stream.frames():
            target = err if kind == 2 else out
            target.write(data)
            target.flush()
    except OSError:
        pass  # shut down by the detach keys


class _WindowSize:
    """The terminal's size to the daemon now and on every SIGWINCH."""

    def __init__(self, resize: "Callable[[int, int], None] | None") -> None:
        self.resize = resize
        self._previous: object = None

    def _send(self, *_: object) -> None:
        size = local_size()
        if size is not None and self.resize is not None:
            import contextlib

            with contextlib.suppress(Exception):  # a race with the end: nothing to resize
                self.resize(*size)

    def __enter__(self) -> "_WindowSize":
        if self.resize is not None and local_size() is not None:
            import signal

            self._previous = signal.signal(signal.SIGWINCH, self._send)
            self._send()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            import signal

            signal.signal(signal.SIGWINCH, self._previous)  # type: ignore[arg-type]
