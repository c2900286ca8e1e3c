"""A cross-process lock on the state root (flock), re-entrant within one thread."""

from __future__ import annotations

import fcntl
import os
import threading


class FileLock:
    def __init__(self, path: str) -> None:
        self._path = path
        self._fd: int | None = None
        self._depth = 0
        self._guard = threading.Lock()

    def acquire(self) -> None:
        with self._guard:
            if self._depth == 0:
                # The file stays open between holds: flock is per open file, and the
                # in-process lock already keeps this process's threads apart.
                if self._fd is None:
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                                       0o600)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            self._depth += 1

    def release(self) -> None:
        with self._guard:
            self._depth -= 1
            if self._depth == 0 and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        with self._guard:
            if self._fd is not None and self._depth == 0:
                os.close(self._fd)
                self._fd = None
