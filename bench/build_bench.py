"""``build`` and ``commit`` as a user feels them: whole CLI commands against a daemon in a
throw-away host namespace, with Docker or podman side by side where a working engine is
installed (same Dockerfile, same context).

Timed, medians of N rounds:
- a one-step build (``FROM busybox`` + ``CMD``): the fixed cost of a build request;
- one ``RUN true`` more: what a RUN step costs (a container started, waited for, its
  upper directory committed as a layer, the container removed);
- one ``COPY`` of a 1 MiB context file more: a COPY step;
- a six-step build from scratch (``--no-cache``) and the same build again from the cache;
- ``commit`` of a running container that wrote a file.

Usage (root): .venv/bin/python bench/build_bench.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.cli_bench import DOCKYARD_SRC, working_engine
from tests.e2e.daemon import DOCKYARD, running_daemon

DOCKERFILES = {
    "one step": "FROM busybox\nCMD [\"true\"]\n",
    "+ RUN true": "FROM busybox\nRUN true\nCMD [\"true\"]\n",
    "+ COPY 1 MiB": "FROM busybox\nCOPY big.bin /big.bin\nCMD [\"true\"]\n",
    "six steps": ("FROM busybox\nENV APP=/app\nWORKDIR /app\nCOPY small/ ./small/\n"
                  "RUN echo built > /app/built && ls /app/small > /app/list\n"
                  "CMD [\"cat\", \"/app/built\"]\n"),
}


def make_context(root: str, dockerfile: str) -> str:
    os.makedirs(os.path.join(root, "small"), exist_ok=True)
    for i in range(20):
        with open(os.path.join(root, "small", f"f{i}.txt"), "w") as handle:
            handle.write(f"file {i}\n")
    with open(os.path.join(root, "big.bin"), "wb") as handle:
        handle.write(os.urandom(1 << 20))
    with open(os.path.join(root, "Dockerfile"), "w") as handle:
        handle.write(dockerfile)
    return root


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   env=env)
    return (time.perf_counter() - start) * 1000


def median_of(rounds: int, argv: list[str], env: dict[str, str] | None = None) -> float:
    return statistics.median(timed(argv, env) for _ in range(rounds))


def measure(cli: list[str], work: str, rounds: int,
            env: dict[str, str] | None = None) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, dockerfile in DOCKERFILES.items():
        context = make_context(os.path.join(work, name.replace(" ", "_")), dockerfile)
        out[name] = median_of(rounds, [*cli, "build", "--no-cache", "-q", "-t", "bb", context],
                              env)
        if name == "six steps":
            out["six steps, cached"] = median_of(rounds, [*cli, "build", "-q", "-t", "bb",
                                                          context], env)
    subprocess.run([*cli, "run", "-d", "--name", "cm", "busybox", "sh", "-c",
                    "echo x > /x; sleep 600"], check=True, stdout=subprocess.DEVNULL, env=env)
    out["commit"] = median_of(rounds, [*cli, "commit", "cm", "committed"], env)
    subprocess.run([*cli, "rm", "-f", "cm"], stdout=subprocess.DEVNULL, env=env)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", DOCKYARD_SRC], check=True,
                   stdout=subprocess.DEVNULL)
    others = {tool: working_engine(tool) for tool in ("docker", "podman")}
    work = tempfile.mkdtemp(prefix="build-bench-")
    try:
        with running_daemon() as daemon:
            from dockyard.images import build_busybox_rootfs_tar

            cli = [DOCKYARD, "--host", daemon.url]
            tar = os.path.join(work, "busybox.tar")
            build_busybox_rootfs_tar(tar)
            subprocess.run([*cli, "import", tar, "busybox"], check=True,
                           stdout=subprocess.DEVNULL)
            ours = measure(cli, os.path.join(work, "ours"), args.rounds)
        theirs: dict[str, dict[str, float]] = {}
        for tool, works in others.items():
            if not works:
                print(f"{tool}: {'no engine answers' if shutil.which(tool) else 'not installed'}"
                      " — no side-by-side figures")
                continue
            env = dict(os.environ)
            env.pop("DOCKER_HOST", None)
            env["DOCKER_BUILDKIT"] = "0"
            subprocess.run([tool, "import", tar, "busybox"], check=True,
                           stdout=subprocess.DEVNULL, env=env)
            theirs[tool] = measure([tool], os.path.join(work, tool), args.rounds, env)
        print(f"\nbuild and commit, whole CLI commands, medians of {args.rounds} rounds:")
        for name, value in ours.items():
            line = f"  {name:<20} {value:7.1f} ms"
            for tool, figures in theirs.items():
                line += f"   {tool} {figures[name]:.0f} ms (×{figures[name] / value:.1f})"
            print(line)
        print(f"  a RUN step costs ~{ours['+ RUN true'] - ours['one step']:.1f} ms, "
              f"a 1 MiB COPY ~{ours['+ COPY 1 MiB'] - ours['one step']:.1f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
