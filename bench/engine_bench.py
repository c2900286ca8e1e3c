"""Engine-level benchmark: network create/rm, sandbox lifecycle, 100 sandboxes on a network.

Runs inside a throw-away "host" network namespace (nothing on the machine changes) and prints
ms per operation, beside the kernel's own floor for the same netlink work (a bare bridge or
veth created and deleted with no engine around it), and Docker/podman CLI times when a working
engine is installed. Usage (root): .venv/bin/python bench/engine_bench.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dockyard.engine import Engine, EngineConfig
from dockyard.kernel import netlink
from dockyard.kernel.linux import LinuxKernel
from dockyard.kernel.ns import run_in_netns
from dockyard.kernel.rtnl import Rtnl
from dockyard.store import SqliteStore
from throwaway import throwaway_host


def timed(fn: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - start) * 1000


def _then(call: Callable[[str], object], after: Callable[[], None]) -> Callable[[str], None]:
    def both(name: str) -> None:
        call(name)
        after()

    return both


def median(values: list[float]) -> str:
    return f"{statistics.median(values):7.2f} ms  (p90 {sorted(values)[int(len(values) * .9)]:.2f})"


def kernel_floor(netns: str, rounds: int) -> dict[str, list[float]]:
    """The same netlink work with no engine: what the kernel itself costs."""
    out: dict[str, list[float]] = {"bridge add": [], "bridge del": []}

    def work() -> None:
        with Rtnl() as rtnl:
            for i in range(rounds):
                out["bridge add"].append(timed(
                    netlink.create_bridge, rtnl, f"kfloor{i}", ("10.250.0.1/24",), 0))
                out["bridge del"].append(timed(netlink.delete_link, rtnl, f"kfloor{i}"))

    run_in_netns(netns, work)
    return out


def _run(argv: list[str]) -> None:
    subprocess.run(argv, capture_output=True, check=True)


def docker_cli(rounds: int) -> dict[str, list[float]] | None:
    docker = shutil.which("docker")
    if docker is None:
        return None
    try:
        if subprocess.run([docker, "info"], capture_output=True, timeout=5).returncode != 0:
            return None
    except subprocess.TimeoutExpired:
        return None
    out: dict[str, list[float]] = {"network create": [], "network rm": []}
    for i in range(rounds):
        name = f"dybench{i}"
        out["network create"].append(timed(
            _run, [docker, "network", "create", name]))
        out["network rm"].append(timed(
            _run, [docker, "network", "rm", name]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--sandboxes", type=int, default=100)
    args = parser.parse_args()
    with throwaway_host() as (base, netns):
        config = EngineConfig(root=os.path.join(base, "state"),
                              exec_root=os.path.join(base, "run"),
                              host_resolv_conf="/dev/null")
        engine = Engine(config, SqliteStore(config.root), LinuxKernel(netns)).open()
        results: dict[str, list[float]] = {k: [] for k in (
            "network create", "network rm", "network rm+gone", "sandbox create", "connect",
            "disconnect", "disconnect+gone", "sandbox rm")}
        settle = engine.kernel.settle
        engine.create_network("keep")
        for i in range(args.rounds):
            # Each operation is timed on its own: the kernel's background device deletion
            # (see kernel/reaper.py) is let finish, untimed, before the next one starts;
            # "+gone" rows time the call plus that deletion, for the full kernel cost.
            results["network create"].append(timed(engine.create_network, f"n{i}"))
            results["network rm"].append(timed(engine.remove_network, f"n{i}"))
            settle()
            engine.create_network(f"m{i}")
            results["network rm+gone"].append(timed(_then(engine.remove_network, settle), f"m{i}"))
            results["sandbox create"].append(timed(engine.create_sandbox, f"s{i}"))
            results["connect"].append(timed(engine.connect, "keep", f"s{i}"))
            results["disconnect"].append(timed(engine.disconnect, "keep", f"s{i}"))
            settle()
            engine.connect("keep", f"s{i}")
            results["disconnect+gone"].append(
                timed(_then(lambda name: engine.disconnect("keep", name), settle), f"s{i}"))
            results["sandbox rm"].append(timed(engine.remove_sandbox, f"s{i}"))
            settle()
        engine.create_network("many")
        start = time.perf_counter()
        for i in range(args.sandboxes):
            engine.create_sandbox(f"m{i}")
            engine.connect("many", f"m{i}")
        many_ms = (time.perf_counter() - start) * 1000
        floor = kernel_floor(netns, args.rounds)
        engine.purge()
        engine.close()

    print(f"Dockyard engine, {args.rounds} rounds, median per operation:")
    for name, values in results.items():
        print(f"  {name:<16} {median(values)}")
    print(f"  {args.sandboxes} sandboxes created+connected on one network: {many_ms:.0f} ms "
          f"({many_ms / args.sandboxes:.2f} ms each)")
    print("Kernel floor (raw netlink, no engine):")
    for name, values in floor.items():
        print(f"  {name:<16} {median(values)}")
    docker = docker_cli(min(args.rounds, 10))
    if docker is None:
        print("Docker: no working engine on this machine (docker info failed); not measured.")
    else:
        for name, values in docker.items():
            ours = statistics.median(results[name])
            theirs = statistics.median(values)
            print(f"Docker CLI {name}: {theirs:.1f} ms; Dockyard engine is {theirs / ours:.1f}x")


if __name__ == "__main__":
    main()
