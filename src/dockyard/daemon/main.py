"""Process entry of ``dockyard daemon``: open the state, reconcile, serve, stop cleanly.

Stopping (SIGTERM, SIGINT) closes the listener and the store but leaves networks,
namespaces and firewall rules in place (Docker's live-restore): the next start adopts
them through :meth:`Engine.open`, which is also what recovers from a SIGKILL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import socket
import sys
import time

from dockyard.daemon.config import DaemonConfig, default_exec_root, default_host, default_root

log = logging.getLogger("dockyard.daemon")


def parse_args(argv: list[str]) -> DaemonConfig:
    from dockyard.runtime.manager import RUNTIMES

    parser = argparse.ArgumentParser(prog="dockyard daemon",
                                     description="Run the Dockyard daemon (Docker Engine API).")
    parser.add_argument("-H", "--host", default=None,
                        help="unix socket to listen on (default unix://<exec-root>/dockyard.sock)")
    parser.add_argument("--root", default=None, help="state directory (default /var/lib/dockyard)")
    parser.add_argument("--exec-root", default=None,
                        help="runtime directory: namespaces, pid file (default /run/dockyard)")
    parser.add_argument("--dns", action="append", default=[],
                        help="upstream DNS server for the embedded resolver (repeatable)")
    parser.add_argument("--resolv-conf", default="/etc/resolv.conf",
                        help="host resolv.conf that container resolv.conf files derive from")
    parser.add_argument("--live-restore", default="true", choices=("true", "false"),
                        help="leave containers running when the daemon stops (default true)")
    parser.add_argument("--runtime", "--default-runtime", choices=RUNTIMES, default=None,
                        help="what starts containers (default dyrun, or $DOCKYARD_RUNTIME)")
    parser.add_argument("--init", action="store_true",
                        help="run an init inside containers that do not choose (as "
                             "dockerd --init): it passes signals on and reaps orphans")
    args = parser.parse_args(argv)
    exec_root = os.path.abspath(args.exec_root or default_exec_root())
    host = args.host or "unix://" + os.path.join(exec_root, "dockyard.sock")
    if args.host is None and args.exec_root is None:
        host = default_host()
    return DaemonConfig(host=host, root=os.path.abspath(args.root or default_root()),
                        exec_root=exec_root, dns=tuple(args.dns),
                        live_restore=args.live_restore == "true",
                        resolv_conf=args.resolv_conf, runtime=args.runtime, init=args.init)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from dockyard.errors import DockyardError

    try:
        config = parse_args(argv)
        return asyncio.run(serve(config))
    except DockyardError as err:
        print(f"dockyard daemon: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _take_lock(config: DaemonConfig) -> int:
    """One daemon per state root, held for the process's life (released by the kernel,
    even on SIGKILL)."""
    from dockyard.errors import Conflict

    os.makedirs(config.root, mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(config.root, "daemon.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise Conflict(f'another daemon is using the state root "{config.root}"') from None
    return fd


def _clear_stale_socket(path: str) -> None:
    from dockyard.errors import Conflict

    if not os.path.exists(path):
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)  # left by a daemon that was killed
        return
    finally:
        probe.close()
    raise Conflict(f'another daemon is listening on "{path}"')


async def serve(config: DaemonConfig) -> int:
    from aiohttp import web

    from dockyard.api.app import make_app
    from dockyard.api.backend import Backend
    from dockyard.api.events import EngineEvents, EventBus
    from dockyard.daemon.dns import start_embedded_dns
    from dockyard.daemon.runtime import open_runtime
    from dockyard.engine import Engine, EngineConfig
    from dockyard.images import ImageStore
    from dockyard.kernel.linux import LinuxKernel
    from dockyard.runtime import ContainerManager
    from dockyard.store import SqliteStore

    started = time.time()
    lock_fd = _take_lock(config)
    os.makedirs(config.exec_root, mode=0o700, exist_ok=True)
    os.makedirs(os.path.dirname(config.socket), exist_ok=True)
    _clear_stale_socket(config.socket)
    store = SqliteStore(config.root)
    engine = Engine(EngineConfig(root=config.root, exec_root=config.exec_root,
                                 host_resolv_conf=config.resolv_conf), store, LinuxKernel())
    loop = asyncio.get_running_loop()
    resolver = None
    runtime: ContainerManager | None = None
    try:
        await asyncio.to_thread(engine.open)
        images = ImageStore(config.root, store)
        await asyncio.to_thread(images.reconcile)
        bus = EventBus(loop)
        engine.subscribe(EngineEvents(bus, engine.state()))
        backend = Backend(engine=engine, images=images, events=bus, root=config.root,
                          exec_root=config.exec_root, started=started, dns_servers=config.dns,
                          runtime=config.runtime, default_init=config.init,
                          live_restore=config.live_restore)
        runtime = await asyncio.to_thread(open_runtime, backend)
        resolver = await start_embedded_dns(engine, config.dns, config.resolv_conf)
        runner = web.AppRunner(make_app(backend), access_log=None, handle_signals=False)
        await runner.setup()
        old_umask = os.umask(0o117)  # the socket is born 0660: never briefly world-writable
        try:
            site = web.UnixSite(runner, config.socket)
            await site.start()
        finally:
            os.umask(old_umask)
        os.chmod(config.socket, 0o660)
        with open(config.pid_file, "w") as f:
            f.write(f"{os.getpid()}\n")
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        log.info("API listening on %s (root %s), ready in %.0f ms", config.host, config.root,
                 (time.time() - started) * 1000)
        await stop.wait()
        await runner.cleanup()
        if config.live_restore:
            log.info("stopping: networks and containers stay as they are (live restore)")
        else:
            stopped = await asyncio.to_thread(runtime.stop_all)
            log.info("stopping: %d running containers stopped (no live restore)",
                     len(stopped))
        with contextlib.suppress(FileNotFoundError):
            os.unlink(config.socket)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(config.pid_file)
    finally:
        if resolver is not None:
            await resolver.close()
        if runtime is not None:
            runtime.close()  # containers keep running (live restore)
        engine.close()
        os.close(lock_fd)
    return 0
