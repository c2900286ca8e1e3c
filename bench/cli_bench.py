"""Whole CLI commands end to end, as a user feels them: process start, request, daemon work,
kernel changes, output.

Starts a daemon inside a throw-away host namespace (nothing on the machine changes), then
times ``dockyard network create``, ``network rm``, ``network connect``/``disconnect`` and
``network ls`` as separate processes, beside a bare interpreter start (the floor) and
Docker/podman running the same commands when a working engine is installed. Containers
(``run -d``, ``rm -f``, 200 containers, memory per container) join once the API serves them.

Usage (root): .venv/bin/python bench/cli_bench.py [--rounds N]
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

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.e2e.conftest import make_sandbox
from tests.e2e.daemon import DOCKYARD, running_daemon

TARGETS = {"network create": 20.0}
MEASURED_ELSEWHERE = {  # issue #4, same class of machine
    "docker": {"network create": 68.0, "network rm": 170.0},
    "podman": {"network create": 23.0, "network rm": 22.0},
}


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return (time.perf_counter() - start) * 1000


def series(rounds: int, make: Callable[[int], list[str]],
           after: Callable[[int], None] | None = None) -> list[float]:
    values = []
    for i in range(rounds):
        values.append(timed(make(i)))
        if after:
            after(i)
    return values


def working_engine(tool: str) -> bool:
    if shutil.which(tool) is None:
        return False
    env = dict(os.environ)
    env.pop("DOCKER_HOST", None)
    return subprocess.run([tool, "info"], capture_output=True, timeout=20,
                          env=env).returncode == 0


def report(name: str, values: list[float], others: dict[str, float]) -> None:
    med = statistics.median(values)
    line = f"  {name:<22} {med:7.1f} ms median  (p90 {sorted(values)[int(len(values) * .9)]:.1f})"
    target = TARGETS.get(name)
    if target is not None:
        line += f"   target ≤ {target:.0f} ms: {'met' if med <= target else 'MISSED'}"
    for tool, value in others.items():
        line += f"   {tool} {value:.0f} ms (×{value / med:.1f})"
    print(line)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    rounds = parser.parse_args().rounds
    floor = series(rounds, lambda i: [sys.executable, "-S", "-c", "pass"])
    print(f"bare interpreter start: {statistics.median(floor):.1f} ms median (the floor)")
    engines = {tool: working_engine(tool) for tool in ("docker", "podman")}
    for tool, works in engines.items():
        state = "working engine found" if works else (
            "CLI installed, no engine answers" if shutil.which(tool) else "not installed")
        print(f"{tool}: {state}" + ("" if works else
                                    f" — ratios use issue #4's numbers for {tool}"))
    with running_daemon() as daemon:
        cli = [DOCKYARD, "--host", daemon.url]
        print(f"\ndockyard CLI → daemon in a throw-away host namespace, {rounds} rounds:")
        report("network ls", series(rounds, lambda i: [*cli, "network", "ls"]), {})
        created = series(rounds, lambda i: [*cli, "network", "create", f"b{i}"])
        report("network create", created, _others("network create"))
        removed = series(rounds, lambda i: [*cli, "network", "rm", f"b{i}"])
        report("network rm", removed, _others("network rm"))
        subprocess.run([*cli, "network", "create", "bench"], check=True,
                       stdout=subprocess.DEVNULL)
        for i in range(rounds):
            make_sandbox(daemon, f"s{i}")
        report("network connect", series(rounds, lambda i: [*cli, "network", "connect",
                                                            "bench", f"s{i}"]), {})
        report("network disconnect", series(rounds, lambda i: [*cli, "network", "disconnect",
                                                               "bench", f"s{i}"]), {})
    print("\nnot yet measured: run -d, run -d -p, rm -f, 200 containers, memory per idle "
          "container (the API does not serve containers yet)")
    return 0


def _others(name: str) -> dict[str, float]:
    return {tool: numbers[name] for tool, numbers in MEASURED_ELSEWHERE.items()
            if name in numbers}


if __name__ == "__main__":
    sys.exit(main())
