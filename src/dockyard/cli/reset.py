"""``dockyard reset``: remove everything one state root made, and leave the host as before.

Containers are killed and removed with their volumes, then every network (the predefined
``bridge`` too), namespace, veth and the nftables table go. Refused while a daemon runs on
that root: it would rebuild what is being removed.
"""

import argparse
import fcntl
import os
import shutil
import sys

from dockyard.daemon.config import default_exec_root, default_root


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="dockyard reset", description=__doc__)
    parser.add_argument("--root", default=default_root())
    parser.add_argument("--exec-root", default=default_exec_root())
    args = parser.parse_args(argv)
    if not os.path.isdir(args.root):
        print(f"dockyard reset: nothing to do: {args.root} does not exist", file=sys.stderr)
        return 0
    lock = os.open(os.path.join(args.root, "daemon.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                   0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"dockyard reset: a daemon is running on {args.root}; stop it first",
              file=sys.stderr)
        return 1
    try:
        return _reset(args.root, args.exec_root)
    finally:
        os.close(lock)


def _reset(root: str, exec_root: str) -> int:
    from dockyard.engine import Engine, EngineConfig
    from dockyard.images import ImageStore
    from dockyard.kernel.linux import LinuxKernel
    from dockyard.runtime import ContainerManager
    from dockyard.store import SqliteStore

    store = SqliteStore(root)
    engine = Engine(EngineConfig(root=root, exec_root=exec_root), store, LinuxKernel())
    failures: list[str] = []
    manager = ContainerManager(engine, ImageStore(root, store), root=root, exec_root=exec_root)
    manager.open()
    try:
        for container in manager.containers():
            try:
                manager.remove(container.id, force=True, volumes=True)
            except Exception as exc:  # keep going: remove all that can be removed
                failures.append(f"container {container.name}: {exc}")
    finally:
        manager.close()
    failures += engine.purge()
    engine.close()
    from dockyard.spares import POOLS  # the emptied trees kept for later containers

    shutil.rmtree(os.path.join(root, POOLS), ignore_errors=True)
    for failure in failures:
        print(f"dockyard reset: {failure}", file=sys.stderr)
    print(f"removed everything made under {root}")
    return 1 if failures else 0
