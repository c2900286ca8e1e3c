"""Build (once) the static ``dyinit`` binary every container runs as PID 1.

The binary is compiled from ``dyinit.c`` beside this module into ``<dest dir>`` under a
name carrying the source's hash, so an edited source gets a new binary and a binary in
use is never overwritten. Static linking makes it run in any image, busybox included.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile

from dockyard.errors import KernelError

SOURCE = os.path.join(os.path.dirname(__file__), "dyinit.c")


def ensure_init_binary(dest_dir: str, cc: str = "gcc") -> str:
    """Path of the compiled init for the current source, compiling it when missing."""
    with open(SOURCE, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    os.makedirs(dest_dir, exist_ok=True)
    path = os.path.join(dest_dir, f"dyinit-{digest}")
    if os.path.exists(path):
        return path
    fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix=".dyinit-")
    os.close(fd)
    try:
        result = subprocess.run(
            [cc, "-static", "-O2", "-o", tmp, SOURCE],
            capture_output=True, text=True, timeout=120,
        )
        if result.returncode != 0:
            raise KernelError(f"building the container init with {cc} failed: "
                              f"{result.stderr.strip()}")
        os.chmod(tmp, 0o755)
        os.replace(tmp, path)  # atomic: concurrent builders end with one complete file
    except FileNotFoundError as exc:
        raise KernelError(f"building the container init needs a C compiler ({cc}): {exc}") \
            from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
