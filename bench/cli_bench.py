"""Whole CLI commands end to end, as a user feels them: process start, request, daemon work,
kernel changes, output.

Starts a daemon inside a throw-away host namespace (nothing on the machine changes), then
times ``dockyard network create``, ``network rm``, ``network connect``/``disconnect`` and
``network ls`` as separate processes, beside a bare interpreter start (the floor) and
Docker/podman running the same commands when a working engine is installed. Containers:
``run -d`` on a user network (the command returns once the container runs), ``run -d -p``,
``rm -f``, an attached ``run --rm`` of a command that exits at once, 200 containers
started by 1 and by 8 parallel clients, and the memory each idle container costs (over 100
idle ``sleep`` containers, three times: the rise in the host's used memory, or the sum of
the parts it is made of, whichever median is larger).

The daemon's state (its store, container layers, logs, namespace files) is kept where the
tests keep theirs, under /run. Creating a file there is part of every container start
(about a dozen: directories, the overlay's work files, hosts, resolv.conf, the log), so
the bench prints what one costs on that filesystem. ``--state-on-tmpfs`` mounts a tmpfs
there for the run: what a stock Debian 12, whose /run is a tmpfs, gives.

Usage (root): .venv/bin/python bench/cli_bench.py [--rounds N] [--state-on-tmpfs]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tests.integration.hosts as hosts
from tests.e2e.conftest import make_sandbox
from tests.e2e.daemon import DOCKYARD, running_daemon

DOCKYARD_SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "src", "dockyard")  # the package the CLI under test imports
TARGETS = {"network create": 20.0, "run -d": 55.0}
MEASURED_ELSEWHERE = {  # issue #4, same class of machine
    "docker": {"network create": 68.0, "network rm": 170.0, "run -d": 275.0},
    "podman": {"network create": 23.0, "network rm": 22.0, "run -d": 140.0},
}
RATE_ELSEWHERE = {"docker": 7.0, "podman": 11.0}  # containers/s with 8 clients
MEMORY_ELSEWHERE = {"docker": 4.5, "podman": 1.0}  # MiB per idle container


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


# Issue #4 set its targets on this machine type when "a bare Python interpreter starts in
# ~9 ms here"; this VM's speed drifts (9-14 ms for the same start), so beside each target
# the bench also says whether the command's time over today's interpreter fits what the
# target leaves over that 9 ms.
ISSUE_FLOOR = 9.0
_floor: list[float] = []  # today's bare interpreter start (median), once measured


def report(name: str, values: list[float], others: dict[str, float]) -> None:
    med = statistics.median(values)
    line = f"  {name:<22} {med:7.1f} ms median  (p90 {sorted(values)[int(len(values) * .9)]:.1f})"
    target = TARGETS.get(name)
    if target is not None:
        line += f"   target ≤ {target:.0f} ms: {'met' if med <= target else 'MISSED'}"
    for tool, value in others.items():
        line += f"   {tool} {value:.0f} ms (×{value / med:.1f})"
    print(line)
    if target is not None and _floor:
        over, allowed = med - _floor[0], target - ISSUE_FLOOR
        print(f"    {over:.1f} ms over today's interpreter start; the target leaves "
              f"{allowed:.0f} ms over the issue's {ISSUE_FLOOR:.0f} ms: "
              + ("met" if over <= allowed else "MISSED"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--state-on-tmpfs", action="store_true",
                        help="keep the daemon's state on a tmpfs mounted for the run")
    args = parser.parse_args()
    rounds = args.rounds
    # Bytecode for every module first, as scripts/install.sh writes it: where
    # PYTHONDONTWRITEBYTECODE is set, a module edited since would be compiled anew by
    # every command timed (~5-15 ms), which is not what an installed CLI costs.
    subprocess.run([sys.executable, "-m", "compileall", "-q", DOCKYARD_SRC], check=True,
                   stdout=subprocess.DEVNULL)
    floor = series(rounds, lambda i: [sys.executable, "-S", "-c", "pass"])
    _floor.append(statistics.median(floor))
    print(f"bare interpreter start: {_floor[0]:.1f} ms median (the floor; issue #4 measured "
          f"{ISSUE_FLOOR:.0f} ms)")
    engines = {tool: working_engine(tool) for tool in ("docker", "podman")}
    for tool, works in engines.items():
        state = "working engine found" if works else (
            "CLI installed, no engine answers" if shutil.which(tool) else "not installed")
        print(f"{tool}: {state}" + ("" if works else
                                    f" — ratios use issue #4's numbers for {tool}"))
    with state_root(args.state_on_tmpfs), running_daemon() as daemon:
        cli = [DOCKYARD, "--host", daemon.url]
        print(f"\nstate root {daemon.host.root}: {describe_filesystem(daemon.host.root)}")
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
        try:
            containers(daemon, cli, rounds)
        finally:  # the daemon's shutdown leaves containers running: remove them first
            ids = subprocess.run([*cli, "ps", "-aq"], capture_output=True,
                                 text=True).stdout.split()
            for start in range(0, len(ids), 50):
                subprocess.run([*cli, "rm", "-f", *ids[start:start + 50]],
                               stdout=subprocess.DEVNULL)
    return 0


@contextlib.contextmanager
def state_root(on_tmpfs: bool) -> Iterator[None]:
    """Where the test hosts' state goes: where the tests keep it, or a tmpfs mounted for
    this run (and removed after)."""
    if not on_tmpfs:
        yield
        return
    mount_point = os.path.join(hosts.TEST_RUN_ROOT, "bench-tmpfs-" + secrets.token_hex(4))
    os.makedirs(mount_point)
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0700", "dockyard-bench",
                        mount_point], check=True)
        saved, hosts.TEST_RUN_ROOT = hosts.TEST_RUN_ROOT, mount_point
        try:
            yield
        finally:
            hosts.TEST_RUN_ROOT = saved
            subprocess.run(["umount", "--lazy", mount_point], check=False)
    finally:
        os.rmdir(mount_point)


def describe_filesystem(path: str) -> str:
    """The filesystem under ``path`` and what creating an empty file there costs, beside a
    tmpfs's cost. Disks differ by an order of magnitude: an ext4 without a journal, as on
    some VMs, scans the inodes deleted in the last minutes on every create."""
    fstype, source = "?", "?"
    best = ""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point = fields[4]
            if (path == point or path.startswith(point.rstrip("/") + "/")) and \
                    len(point) >= len(best):
                best = point
                after = fields[fields.index("-") + 1:]
                fstype, source = after[0], after[1]
    journal = ""
    if fstype == "ext4":
        device = os.path.basename(os.path.realpath(source))  # /dev/mapper/x -> dm-0
        has = any(name.startswith(device + "-") for name in _listdir("/proc/fs/jbd2"))
        journal = " with a journal" if has else " without a journal"
    here = _create_cost(path)
    shm = _create_cost("/dev/shm") if os.path.isdir("/dev/shm") else float("nan")
    return (f"{fstype}{journal}; creating a file there costs {here:.0f} µs "
            f"(tmpfs {shm:.0f} µs)")


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except FileNotFoundError:
        return []


def _create_cost(parent: str, count: int = 100) -> float:
    """Median µs to create (and close) an empty file in a fresh directory under parent."""
    directory = os.path.join(parent, "create-cost-" + secrets.token_hex(4))
    os.mkdir(directory)
    costs = []
    try:
        for i in range(count):
            start = time.perf_counter()
            os.close(os.open(os.path.join(directory, str(i)), os.O_CREAT | os.O_WRONLY, 0o600))
            costs.append((time.perf_counter() - start) * 1e6)
    finally:
        for i in range(len(costs)):
            os.unlink(os.path.join(directory, str(i)))
        os.rmdir(directory)
    return statistics.median(costs)


def containers(daemon: object, cli: list[str], rounds: int) -> None:
    from dockyard.images import build_busybox_rootfs_tar

    tar = os.path.join(os.path.dirname(daemon.socket), "busybox.tar")  # type: ignore[attr-defined]
    build_busybox_rootfs_tar(tar)
    subprocess.run([*cli, "import", tar, "busybox"], check=True, stdout=subprocess.DEVNULL)
    report("run -d", series(rounds, lambda i: [
        *cli, "run", "-d", "--name", f"r{i}", "--network", "bench", "busybox", "sleep", "600"]),
        _others("run -d"))
    report("run -d -p", series(rounds, lambda i: [
        *cli, "run", "-d", "--name", f"p{i}", "--network", "bench", "-p", f"{20000 + i}:80",
        "busybox", "sleep", "600"]), {})
    report("rm -f", series(rounds, lambda i: [*cli, "rm", "-f", f"r{i}"]), {})
    # Attached, until the container has run, exited and been removed: what a script that
    # runs one short command after another waits for each time.
    report("run --rm (attached)", series(rounds, lambda i: [
        *cli, "run", "--rm", "--network", "bench", "busybox", "true"]), {})
    subprocess.run([*cli, "rm", "-f", *[f"p{i}" for i in range(rounds)]], check=True,
                   stdout=subprocess.DEVNULL)
    for clients in (1, 8):
        rate = _many(cli, 200, clients)
        line = f"  200 containers, {clients} client{'s' if clients > 1 else ''}: {rate:6.1f}/s"
        if clients == 8:
            line += "   target ≥ 50/s: " + ("met" if rate >= 50 else "MISSED")
            line += "".join(f"   {tool} {value:.0f}/s (×{rate / value:.1f})"
                            for tool, value in RATE_ELSEWHERE.items())
        print(line)
        ids = subprocess.run([*cli, "ps", "-aq"], check=True, capture_output=True,
                             text=True).stdout.split()
        for start in range(0, len(ids), 50):
            subprocess.run([*cli, "rm", "-f", *ids[start:start + 50]], check=True,
                           stdout=subprocess.DEVNULL)
    used, parts = _memory_per_container(cli, 100, repeats=3)
    # The rise in used memory is what a user sees, but it reads low when the kernel reuses
    # slab pages that removed containers freed, and high or low when something else on the
    # machine moves; the sum of the parts does neither. Each is the median of three
    # measurements, and the target is judged on the larger.
    summed = sum(parts.values()) / 1024
    per = max(used, summed)
    print(f"  memory per idle container: {per:.2f} MiB   target ≤ 0.5 MiB: "
          + ("met" if per <= 0.5 else "MISSED")
          + "".join(f"   {tool} {value:.1f} MiB" for tool, value in MEMORY_ELSEWHERE.items()))
    print(f"    used memory rose {used:.2f} MiB a container; its parts: "
          + ", ".join(f"{label} {kib:.0f} KiB" for label, kib in parts.items()))


def _many(cli: list[str], count: int, clients: int) -> float:
    """Containers per second started (``run -d`` returned) by ``clients`` parallel users."""
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int) -> None:
        subprocess.run([*cli, "run", "-d", "--network", "bench", "busybox", "sleep", "600"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(count)))
    return count / (time.perf_counter() - start)


# Where a container's memory goes, as /proc/meminfo splits it (KiB).
MEMORY_PARTS = {"AnonPages": "processes", "SUnreclaim": "kernel objects",
                "PageTables": "page tables", "KernelStack": "kernel stacks",
                "Percpu": "per-CPU", "VmallocUsed": "vmalloc"}


def _meminfo() -> dict[str, int]:
    info = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, value = line.split(":", 1)
            info[key] = int(value.split()[0])
    info["Used"] = info["MemTotal"] - info["MemAvailable"]
    return info


def _namespaces_alive() -> int | None:
    """Network namespaces the kernel still holds (None where its slab cache is merged):
    removed containers' namespaces are torn down by a kernel worker, for seconds after."""
    with open("/proc/slabinfo") as f:
        for line in f:
            if line.startswith("net_namespace "):
                return int(line.split()[1])
    return None


def _settled_meminfo(limit: float = 30.0) -> dict[str, int]:
    """Memory once used stops moving and no namespace is still being torn down: what
    removed containers leave is freed for seconds after, which reads as a negative cost."""
    last, namespaces = _meminfo(), _namespaces_alive()
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(1)
        now, alive = _meminfo(), _namespaces_alive()
        if abs(now["Used"] - last["Used"]) < 512 and alive == namespaces:
            return now
        last, namespaces = now, alive
    return last


def _memory_per_container(cli: list[str], count: int, repeats: int
                          ) -> tuple[float, dict[str, float]]:
    """The rise in used memory per idle container in MiB (kernel objects, processes, daemon
    state) and its parts in KiB: each the median over ``repeats`` times ``count``."""
    used, parts = [], []
    for _ in range(repeats):
        before = _settled_meminfo()
        for i in range(count):
            subprocess.run([*cli, "run", "-d", "--name", f"m{i}", "--network", "bench",
                            "busybox", "sleep", "600"], check=True, stdout=subprocess.DEVNULL)
        after = _settled_meminfo()
        subprocess.run([*cli, "rm", "-f", *[f"m{i}" for i in range(count)]], check=True,
                       stdout=subprocess.DEVNULL)
        used.append((after["Used"] - before["Used"]) / count / 1024)
        parts.append({label: (after[key] - before[key]) / count
                      for key, label in MEMORY_PARTS.items()})
    return statistics.median(used), {
        label: statistics.median(p[label] for p in parts) for label in MEMORY_PARTS.values()}


def _others(name: str) -> dict[str, float]:
    return {tool: numbers[name] for tool, numbers in MEASURED_ELSEWHERE.items()
            if name in numbers}


if __name__ == "__main__":
    sys.exit(main())
