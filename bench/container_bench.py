"""Container benchmark at the engine level (no CLI): start latency, throughput, memory.

Inside a throw-away "host" network namespace, with the busybox image, on a user network:
  - create+start until the container's command runs (dyrun reports a successful exec),
    and stop+remove of a command that ends on SIGTERM;
  - N containers (default 200) started 1 and 8 at a time (threads calling the manager);
  - memory per idle container: the whole system's MemAvailable drop and the manager
    process's RSS growth, divided by N, with N ``sleep`` containers running.
Usage (root): .venv/bin/python bench/container_bench.py [--rounds 30] [--count 200]
    [--runtime dyrun|runc] [--profile]
``--profile`` prints where a start's time goes (cProfile of the create+start rounds, by
cumulative time, the top entries).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dockyard.engine import Engine, EngineConfig
from dockyard.errors import DockyardError
from dockyard.images.busybox import ensure_busybox_image
from dockyard.images.store import ImageStore
from dockyard.kernel.linux import LinuxKernel
from dockyard.runtime import ContainerManager, ContainerSpec
from dockyard.runtime.manager import RUNTIMES
from dockyard.store import SqliteStore
from throwaway import throwaway_host

SLEEP = ("sleep", "3600")
# What the stop series runs: as PID 1 without an init, a command ends on SIGTERM only if
# it handles it (a plain sleep would wait out the timeout, as in Docker).
STOPPABLE = ("sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait")


def mem_available_kib() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    raise RuntimeError("no MemAvailable")


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    return (f"median {statistics.median(ordered):6.1f} ms  p90 "
            f"{ordered[int(len(ordered) * .9)]:6.1f} ms")


def remove_all(manager: ContainerManager) -> None:
    ids = [c.id for c in manager.containers()]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: manager.remove(i, force=True), ids))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--runtime", choices=RUNTIMES, default=None,
                        help="container runtime (default: the manager's default)")
    parser.add_argument("--profile", action="store_true",
                        help="profile the create+start rounds and print the top entries")
    args = parser.parse_args()
    with throwaway_host() as (base, netns):
        config = EngineConfig(root=os.path.join(base, "state"),
                              exec_root=os.path.join(base, "run"),
                              host_resolv_conf="/dev/null")
        engine = Engine(config, SqliteStore(config.root), LinuxKernel(netns)).open()
        images = ImageStore(config.root, engine.store)
        ensure_busybox_image(images)
        manager = ContainerManager(engine, images, host_netns=netns,
                                   runtime=args.runtime).open()
        print(f"runtime: {manager.runtime.name}")
        try:
            engine.create_network("benchnet")
            spec = ContainerSpec("busybox", cmd=SLEEP, network_mode="benchnet")
            stoppable = replace(spec, cmd=STOPPABLE)
            manager.remove(manager.run(spec).id, force=True)  # warm-up
            starts, stops = [], []
            profiler = cProfile.Profile() if args.profile else None
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                if profiler is not None:
                    profiler.enable()
                c = manager.run(spec)
                if profiler is not None:
                    profiler.disable()
                starts.append((time.perf_counter() - t0) * 1000)
                manager.remove(c.id, force=True)
                c = manager.run(stoppable)
                t0 = time.perf_counter()
                manager.stop(c.id, timeout=5)
                manager.remove(c.id)
                stops.append((time.perf_counter() - t0) * 1000)
            print(f"create+start (process running): {ms(starts)}")
            print(f"stop+remove:                    {ms(stops)}")
            if profiler is not None:
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)

            for parallel in (1, 8):
                mem0, rss0 = mem_available_kib(), rss_kib()
                t0 = time.perf_counter()
                with ThreadPoolExecutor(parallel) as pool:
                    list(pool.map(lambda _: manager.run(spec), range(args.count)))
                elapsed = time.perf_counter() - t0
                running = sum(1 for c in manager.containers() if c.state.status == "running")
                print(f"{args.count} containers, {parallel} at a time: {elapsed:6.2f} s "
                      f"= {args.count / elapsed:6.1f} containers/s ({running} running)")
                mem1, rss1 = mem_available_kib(), rss_kib()
                print(f"  per idle container: MemAvailable drop "
                      f"{(mem0 - mem1) / args.count / 1024:.2f} MiB, manager RSS growth "
                      f"{(rss1 - rss0) / args.count:.1f} KiB")
                t0 = time.perf_counter()
                remove_all(manager)
                print(f"  remove -f of all, 8 at a time: {time.perf_counter() - t0:6.2f} s")
        finally:
            with contextlib.suppress(DockyardError):
                remove_all(manager)
            manager.close()
            engine.purge()
            engine.close()


if __name__ == "__main__":
    main()
