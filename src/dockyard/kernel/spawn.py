"""``posix_spawn`` that lets other threads run while the child starts.

``os.posix_spawn`` keeps the GIL through the whole call, and glibc's posix_spawn returns
only once the child has exec'd (the parent waits as with vfork). On a busy machine the
child waits for a CPU first: measured here with both cores loaded, the call held the GIL
for ~2 ms a spawn, and every other thread of the daemon waited with it. A call through
ctypes releases the GIL for its whole length.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Mapping, Sequence

_libc = ctypes.CDLL(None, use_errno=True)
# glibc's posix_spawn_file_actions_t is 80 bytes on 64-bit Linux; room to spare.
_FILE_ACTIONS_SIZE = 256


def _strings(items: Sequence[str]) -> ctypes.Array[ctypes.c_char_p]:
    return (ctypes.c_char_p * (len(items) + 1))(*[os.fsencode(item) for item in items], None)


def spawn(binary: str, argv: Sequence[str], env: Mapping[str, str],
          dup2: Sequence[tuple[int, int]] = ()) -> int:
    """Start ``binary`` with ``argv`` and ``env``; each ``(fd, target)`` of ``dup2`` is
    duplicated onto ``target`` in the child first. Returns the child's pid; OSError with
    the errno posix_spawn gave if the child could not be started."""
    actions = ctypes.create_string_buffer(_FILE_ACTIONS_SIZE)
    if _libc.posix_spawn_file_actions_init(actions) != 0:
        raise OSError(ctypes.get_errno(), "posix_spawn_file_actions_init")
    try:
        for fd, target in dup2:
            err = _libc.posix_spawn_file_actions_adddup2(actions, fd, target)
            if err:
                raise OSError(err, os.strerror(err))
        pid = ctypes.c_int()
        err = _libc.posix_spawn(ctypes.byref(pid), os.fsencode(binary), actions, None,
                                _strings(argv), _strings([f"{k}={v}" for k, v in env.items()]))
        if err:
            raise OSError(err, os.strerror(err), binary)
        return pid.value
    finally:
        _libc.posix_spawn_file_actions_destroy(actions)
