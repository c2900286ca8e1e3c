"""Benchmark the embedded resolver with dnsperf, run inside a sandbox's namespace.

For 1, 200 and 1,000 registered names (local names only, every query answered from
the precomputed tables) it runs two dnsperf passes against 127.0.0.11:

* throughput: as fast as dnsperf can (100 queries outstanding), for QPS and loss;
* latency: a fixed, sustainable rate with per-query reporting (``-v``), for
  percentiles, since dnsperf itself prints only average, min and max.

The resolver runs in this process on one asyncio loop, exactly as the daemon hosts it,
and dnsperf shares the machine's cores with it. Nothing leaves the machine: the
namespace is created here and deleted at the end. Needs root and ``dnsperf``.

    sudo .venv/bin/python bench/dns_bench.py [--seconds 10] [--names 1,200,1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from ipaddress import IPv4Address

from dockyard.dns.records import DnsEndpoint, Records, build_records
from dockyard.dns.server import DnsServer

#: Docker's numbers from issue #5, measured on this machine class with dnsperf.
DOCKER_REFERENCE = {1: 61_600, 200: 45_800}


@dataclass(frozen=True)
class Throughput:
    qps: float
    sent: int
    completed: int
    avg_latency_us: float


@dataclass(frozen=True)
class Latency:
    rate: int
    p50_us: float
    p90_us: float
    p99_us: float
    p999_us: float
    max_us: float
    lost: int


def make_records(n: int) -> Records:
    endpoints = [
        DnsEndpoint(
            "bench",
            "benchnet",
            f"sb{i}",
            (f"name{i}",),
            IPv4Address(int(IPv4Address("10.64.0.2")) + i),
        )
        for i in range(n)
    ]
    endpoints.append(
        DnsEndpoint("bench", "benchnet", "client", ("client",), IPv4Address("10.63.255.254"))
    )
    return build_records(endpoints)


async def dnsperf(ns: str, datafile: str, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        "ip",
        "netns",
        "exec",
        ns,
        "dnsperf",
        "-s",
        "127.0.0.11",
        "-d",
        datafile,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"dnsperf failed:\n{out.decode()}")
    return out.decode()


def _field(out: str, label: str) -> str:
    match = re.search(rf"{re.escape(label)}:\s+([0-9.]+)", out)
    if not match:
        raise RuntimeError(f"no {label!r} in dnsperf output:\n{out}")
    return match.group(1)


async def throughput(ns: str, datafile: str, seconds: int) -> Throughput:
    out = await dnsperf(ns, datafile, "-l", str(seconds), "-q", "100")
    return Throughput(
        qps=float(_field(out, "Queries per second")),
        sent=int(_field(out, "Queries sent")),
        completed=int(_field(out, "Queries completed")),
        avg_latency_us=float(_field(out, "Average Latency (s)")) * 1e6,
    )


async def latency(ns: str, datafile: str, seconds: int, rate: int) -> Latency:
    out = await dnsperf(ns, datafile, "-l", str(seconds), "-Q", str(rate), "-v")
    samples = sorted(
        float(m.group(1)) * 1e6 for m in re.finditer(r"^> \S+ .* ([0-9.]+)$", out, re.M)
    )
    if not samples:
        raise RuntimeError(f"no per-query latencies in dnsperf output:\n{out[:2000]}")
    q = statistics.quantiles(samples, n=1000, method="inclusive")
    sent = int(_field(out, "Queries sent"))
    return Latency(
        rate=rate,
        p50_us=q[499],
        p90_us=q[899],
        p99_us=q[989],
        p999_us=q[998],
        max_us=samples[-1],
        lost=sent - int(_field(out, "Queries completed")),
    )


async def bench(names: list[int], seconds: int, rate: int) -> None:
    ns = f"dydnsbench-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    tmp = tempfile.mkdtemp(prefix="dydnsbench-")
    server = DnsServer()
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        await server.add_sandbox("client", f"/run/netns/{ns}")
        print(
            f"dnsperf {dnsperf_version()} vs Dockyard resolver (python {sys.version.split()[0]}),"
            f" {os.cpu_count()} cores shared, {seconds} s per pass"
        )
        print(
            f"{'names':>6} {'QPS':>9} {'lost':>6} {'avg µs':>8} | latency at {rate} QPS:"
            f" {'p50':>6} {'p90':>6} {'p99':>6} {'p99.9':>6} {'max':>7} {'lost':>5} | vs Docker"
        )
        for n in names:
            server.set_records(make_records(n))
            datafile = os.path.join(tmp, f"q{n}.txt")
            with open(datafile, "w") as f:
                f.writelines(f"name{i} A\n" for i in range(n))
            t = await throughput(ns, datafile, seconds)
            lat = await latency(ns, datafile, max(3, seconds // 2), rate)
            ref = DOCKER_REFERENCE.get(n)
            vs = f"{t.qps / ref:.2f}× of {ref / 1000:.1f}k (issue #5)" if ref else "—"
            print(
                f"{n:>6} {t.qps:>9.0f} {t.sent - t.completed:>6} {t.avg_latency_us:>8.0f} |"
                f" {'':>19} {lat.p50_us:>6.0f} {lat.p90_us:>6.0f} {lat.p99_us:>6.0f}"
                f" {lat.p999_us:>6.0f} {lat.max_us:>7.0f} {lat.lost:>5} | {vs}"
            )
        print(docker_note())
    finally:
        await server.close()
        subprocess.run(["ip", "netns", "delete", ns], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def dnsperf_version() -> str:
    out = subprocess.run(["dnsperf", "-H"], capture_output=True, text=True).stdout
    match = re.search(r"Version (\S+)", out)
    return match.group(1) if match else "?"


def docker_note() -> str:
    if shutil.which("dockerd") and os.path.exists("/var/run/docker.sock"):
        return (
            "dockerd is present, but this benchmark does not drive it yet: Docker was not"
            " measured side by side; the 'vs Docker' column uses issue #5's figures."
        )
    return (
        "Docker was not measured (dockerd is not installed/running here); the 'vs Docker'"
        " column uses the figures recorded in issue #5 on this machine class."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--names", default="1,200,1000")
    parser.add_argument("--latency-qps", type=int, default=20_000)
    args = parser.parse_args()
    if os.geteuid() != 0 or not shutil.which("dnsperf"):
        sys.exit("needs root and dnsperf (apt-get install dnsperf)")
    asyncio.run(bench([int(n) for n in args.names.split(",")], args.seconds, args.latency_qps))


if __name__ == "__main__":
    main()
