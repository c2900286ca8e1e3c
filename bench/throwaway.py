"""A throw-away "host" network namespace for benchmarks, so nothing on the machine changes.

Its state lives under ``$BENCH_DIR`` (default ``/run``): point it at a tmpfs such as
``/dev/shm`` to see what the filesystem costs a container start (on this VM's ext4 a new
inode can take a millisecond).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator

from dockyard.kernel.ns import create_netns, delete_netns


@contextlib.contextmanager
def throwaway_host() -> Iterator[tuple[str, str]]:
    base = tempfile.mkdtemp(prefix="dockyard-bench-", dir=os.environ.get("BENCH_DIR", "/run"))
    netns = os.path.join(base, "host")
    create_netns(netns)
    try:
        yield base, netns
    finally:
        run_dir = os.path.join(base, "run", "netns")
        if os.path.isdir(run_dir):
            for entry in os.listdir(run_dir):
                delete_netns(os.path.join(run_dir, entry))
        delete_netns(netns)
        shutil.rmtree(base, ignore_errors=True)
