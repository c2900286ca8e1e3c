"""Build (once) the static helper binaries: ``dyinit`` (PID 1 of a container run with an
init), ``dymon`` (the monitor of containers run without one) and ``dyrun`` (the lean
runtime that starts containers and execs into them).

Each binary is compiled from its C source beside this module into ``<dest dir>`` under a
name carrying the source's hash, so an edited source gets a new binary and a binary in
use is never overwritten. Static linking makes dyinit run in any image, busybox included.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile

from dockyard.errors import KernelError

_HERE = os.path.dirname(__file__)
SOURCE = os.path.join(_HERE, "dyinit.c")
DYRUN_SOURCE = os.path.join(_HERE, "dyrun.c")
DYMON_SOURCE = os.path.join(_HERE, "dymon.c")

# Binaries built by this process: a manager on a fresh root (every test's) gets a hard
# link (or copy) of one instead of a compiler run.
_built: dict[str, str] = {}


def ensure_init_binary(dest_dir: str, cc: str | None = None) -> str:
    """Path of the compiled init for the current source, compiling it when missing."""
    return ensure_binary(SOURCE, "dyinit", dest_dir, cc or init_compiler())


def init_compiler() -> str:
    """musl's gcc wrapper where installed, else gcc.

    dyinit lives as long as its container, so its memory is paid once per container: built
    against musl it keeps ~16 KiB of private memory and 24 KiB of page tables, against
    glibc's static startup (TLS and stdio set up on a heap) ~60 and ~36.
    """
    return "musl-gcc" if shutil.which("musl-gcc") else "gcc"


def ensure_dymon_binary(dest_dir: str, cc: str | None = None) -> str:
    """Path of the compiled monitor of containers without an init (one per manager root,
    living as long as they do: built small, like dyinit)."""
    return ensure_binary(DYMON_SOURCE, "dymon", dest_dir, cc or init_compiler())


def ensure_dyrun_binary(dest_dir: str, cc: str = "gcc") -> str:
    """Path of the compiled lean runtime for the current source."""
    return ensure_binary(DYRUN_SOURCE, "dyrun", dest_dir, cc)


# What the sources #include from here.
HEADERS = (os.path.join(_HERE, "sendfd.h"), os.path.join(_HERE, "jsonlog.h"))


def ensure_binary(source: str, name: str, dest_dir: str, cc: str = "gcc") -> str:
    hasher = hashlib.sha256(cc.encode())  # another compiler makes another binary
    for path in (source, *HEADERS):  # a changed header makes a new binary too
        with open(path, "rb") as f:
            hasher.update(f.read())
    digest = hasher.hexdigest()[:16]
    os.makedirs(dest_dir, exist_ok=True)
    path = os.path.join(dest_dir, f"{name}-{digest}")
    if os.path.exists(path):
        return path
    fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix=f".{name}-")
    os.close(fd)
    earlier = _built.get(f"{name}-{digest}")
    if earlier is not None and os.path.exists(earlier):
        os.unlink(tmp)
        try:
            os.link(earlier, tmp)
        except OSError:
            shutil.copy2(earlier, tmp)
        os.replace(tmp, path)
        return path
    try:
        result = subprocess.run(
            [cc, "-static", "-O2", "-o", tmp, source],
            capture_output=True, text=True, timeout=120,
        )
        if result.returncode != 0:
            raise KernelError(f"building {name} with {cc} failed: {result.stderr.strip()}")
        os.chmod(tmp, 0o755)
        os.replace(tmp, path)  # atomic: concurrent builders end with one complete file
    except FileNotFoundError as exc:
        raise KernelError(f"building {name} needs a C compiler ({cc}): {exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _built[f"{name}-{digest}"] = path
    return path
