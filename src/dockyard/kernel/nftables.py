"""nftables through libnftables, in-process: one call, one atomic transaction.

No `nft` subprocess per change (a fork+exec costs more than the change itself)
and no shell strings: the script is rendered from state by ``dockyard.nft`` and
handed to the library as a buffer. On failure the error names the script's
failing line, numbered, as moby does, so a bad render is easy to find.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

from dockyard.errors import KernelError

_lib: ctypes.CDLL | None = None
_lib_lock = threading.Lock()


def _load() -> ctypes.CDLL:
    global _lib
    with _lib_lock:
        if _lib is None:
            name = ctypes.util.find_library("nftables") or "libnftables.so.1"
            try:
                lib = ctypes.CDLL(name)
            except OSError as exc:
                raise KernelError(
                    f"cannot load libnftables ({name}): install the nftables package"
                ) from exc
            lib.nft_ctx_new.restype = ctypes.c_void_p
            lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
            lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
            lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
            lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
            lib.nft_ctx_get_output_buffer.argtypes = [ctypes.c_void_p]
            lib.nft_ctx_get_output_buffer.restype = ctypes.c_char_p
            lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
            lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
            lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
            _lib = lib
        return _lib


def run(script: str) -> str:
    """Run an nft script in the calling thread's network namespace; return its output.

    A context is made per call, inside the caller's namespace: libnftables opens
    its netlink socket from the context, so reusing one across namespaces would
    program the wrong one.
    """
    lib = _load()
    ctx = lib.nft_ctx_new(0)
    if not ctx:
        raise KernelError("nft_ctx_new failed")
    try:
        lib.nft_ctx_buffer_output(ctx)
        lib.nft_ctx_buffer_error(ctx)
        status = lib.nft_run_cmd_from_buffer(ctx, script.encode())
        output = (lib.nft_ctx_get_output_buffer(ctx) or b"").decode()
        if status != 0:
            error = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode().strip()
            numbered = "\n".join(
                f"{i:4d}  {line}" for i, line in enumerate(script.splitlines(), 1)
            )
            raise KernelError(f"nftables rejected the ruleset: {error}\nscript:\n{numbered}")
        return output
    finally:
        lib.nft_ctx_free(ctx)
