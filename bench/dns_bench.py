"""Benchmark the embedded resolver with dnsperf, run inside a sandbox's namespace.

Reproduce (root, ``apt-get install dnsperf``; ~2 min)::

    sudo .venv/bin/python bench/dns_bench.py --runs 3 --seconds 5 --floor

Results (2-core Firecracker VM shared with dnsperf and, at the time, other engineers'
test runs: load average 2.6-3.7, so the spread is wide; median [min-max] of 3 runs,
throughput with 100 queries outstanding, latency at a fixed 20k QPS)::

    server    names  QPS                  lost | p50 µs        p99 µs            lost
    dockyard      1  78.5k [45.6-83.9]       0 | 127 [76-166]  3587 [1744-3593]     0
    dockyard    200  66.3k [50.9-84.0]       0 | 171 [126-767] 4883 [1596-6469]     0
    dockyard   1000  73.3k [69.4-73.8]       0 | 119 [76-213]  4009 [3910-4581]     0
    c-echo      200 105.1k [100.4-115.6]     0 |  65 [62-71]    291 [276-3553]      0
    py-echo     200  50.5k [46.0-62.2]       0 | 494 [199-617] 7507 [4629-9525]     0

On a quieter machine (same VM, nothing else running) the resolver did 85-98k QPS at
200 names (C echo 113-120k) with p50 78-89 µs and p99 280-372 µs at 20k QPS (C echo:
p50 71-74 µs, p99 385-1526 µs). Docker (issue #5): 61.6k QPS with 1 name, 45.8k with
200, p99 up to 300 µs. So the resolver passes 1.5 × Docker's QPS (69k at 200 names)
when the machine is quiet and lands at 1.3-1.6 × under load; p99 ≤ 100 µs is not
reachable here by anything: the minimal C server that does no work at all has a p99 of
0.3-1.5 ms, i.e. the tail is the VM's scheduling and dnsperf, not the resolver.

What limits throughput, in server CPU per query at saturation (``/proc`` utime+stime
over the dnsperf pass): C echo 5.8 µs, Python echo 8.5-8.9 µs, this resolver 8.5-8.8 µs
(it was 11.5 µs before local answers were remembered per query). The remaining cost is
the two syscalls per packet plus CPython's per-call overhead; the answer itself is
~0.3 µs (``wire.respond`` on a remembered query, 1.8 µs when parsed). Batching with
recvmmsg/sendmmsg did not help even in C (64-message batches: 84-108k vs 116-120k
unbatched), and a second thread per core is serialised by the GIL, so neither is used.

What it measures: for 1, 200 and 1,000 registered names (local names only, every query
answered from the precomputed tables) it runs two dnsperf passes against 127.0.0.11:

* throughput: as fast as dnsperf can (100 queries outstanding), for QPS and loss;
* latency: a fixed, sustainable rate with per-query reporting (``-v``), for
  percentiles, since dnsperf itself prints only average, min and max.

The resolver runs in this process exactly as the daemon hosts it (an asyncio API, with
its UDP hot path on one thread), and dnsperf shares the machine's cores with it.
``--floor`` also measures minimal echo servers (C, compiled here if ``cc`` exists, and
Python) that set QR and send the query back: the ceiling of this machine and dnsperf.
Nothing leaves the machine: namespaces are created here and deleted at the end.
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
    # Output goes to a file, not a pipe: with -v dnsperf writes a line per query, and
    # reading that pipe on the resolver's own process would be measured as resolver time.
    with tempfile.TemporaryFile() as out:
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
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
        await proc.wait()
        out.seek(0)
        text = out.read().decode()
    if proc.returncode:
        raise RuntimeError(f"dnsperf failed:\n{text[:2000]}")
    return text


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


@dataclass(frozen=True)
class Result:
    label: str
    names: int
    runs: list[tuple[Throughput, Latency]]

    def row(self, rate: int) -> str:
        qps = [t.qps for t, _ in self.runs]
        lost = sum(t.sent - t.completed for t, _ in self.runs)
        p50 = [lat.p50_us for _, lat in self.runs]
        p99 = [lat.p99_us for _, lat in self.runs]
        p999 = [lat.p999_us for _, lat in self.runs]
        lat_lost = sum(lat.lost for _, lat in self.runs)
        ref = DOCKER_REFERENCE.get(self.names) if self.label == "dockyard" else None
        vs = f"{statistics.median(qps) / ref:.2f}× of {ref / 1000:.1f}k" if ref else ""
        return (
            f"{self.label:>9} {self.names:>5} {_span(qps, 1000, 'k')} {lost:>5} |"
            f" {_span(p50)} {_span(p99)} {_span(p999)} {lat_lost:>5} | {vs}"
        )


def _span(values: list[float], scale: float = 1.0, unit: str = "") -> str:
    """median [min–max], so run-to-run noise is visible next to the number."""
    med, lo, hi = (statistics.median(values) / scale, min(values) / scale, max(values) / scale)
    fmt = ".1f" if scale > 1 else ".0f"
    return f"{med:>6{fmt}}{unit} [{lo:{fmt}}–{hi:{fmt}}]".ljust(22 if unit else 20)


async def measure(ns: str, datafile: str, seconds: int, rate: int) -> tuple[Throughput, Latency]:
    t = await throughput(ns, datafile, seconds)
    lat = await latency(ns, datafile, max(3, seconds // 2), rate)
    return t, lat


def write_queries(tmp: str, n: int) -> str:
    datafile = os.path.join(tmp, f"q{n}.txt")
    with open(datafile, "w") as f:
        f.writelines(f"name{i} A\n" for i in range(n))
    return datafile


def new_netns() -> str:
    ns = f"dydnsbench-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
    return ns


async def bench_dockyard(
    names: list[int], runs: int, seconds: int, rate: int, tmp: str
) -> list[Result]:
    ns = new_netns()
    server = DnsServer()
    results = []
    try:
        await server.add_sandbox("client", f"/run/netns/{ns}")
        for n in names:
            server.set_records(make_records(n))
            datafile = write_queries(tmp, n)
            results.append(
                Result(
                    "dockyard", n, [await measure(ns, datafile, seconds, rate) for _ in range(runs)]
                )
            )
            print(results[-1].row(rate), flush=True)
    finally:
        await server.close()
        subprocess.run(["ip", "netns", "delete", ns], check=False)
    return results


#: The floor: the least a UDP server can do per query (set QR, send the query back).
#: dnsperf counts it as an answer; it shows what the kernel, dnsperf and the machine
#: allow before any resolver work, in C and in Python.
_C_ECHO = r"""
#include <stdio.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
int main(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET; a.sin_port = htons(53); a.sin_addr.s_addr = inet_addr("127.0.0.11");
    if (bind(s, (struct sockaddr *)&a, sizeof a)) { perror("bind"); return 1; }
    puts("ready"); fflush(stdout);
    char buf[2048]; struct sockaddr_in p; socklen_t pl;
    for (;;) {
        pl = sizeof p;
        ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&p, &pl);
        if (n < 12) continue;
        buf[2] |= 0x80;
        sendto(s, buf, n, 0, (struct sockaddr *)&p, pl);
    }
}
"""
_PY_ECHO = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.11", 53))
print("ready", flush=True)
while True:
    d, a = s.recvfrom(2048)
    s.sendto(d[:2] + bytes([d[2] | 0x80]) + d[3:], a)
"""


def floor_servers(tmp: str) -> dict[str, list[str]]:
    servers = {"py-echo": [sys.executable, "-c", _PY_ECHO]}
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc:
        src, exe = os.path.join(tmp, "echo.c"), os.path.join(tmp, "echo")
        with open(src, "w") as f:
            f.write(_C_ECHO)
        if subprocess.run([cc, "-O2", "-o", exe, src], capture_output=True).returncode == 0:
            servers = {"c-echo": [exe], **servers}
    return servers


async def bench_floor(runs: int, seconds: int, rate: int, tmp: str) -> list[Result]:
    results = []
    datafile = write_queries(tmp, 200)
    for label, argv in floor_servers(tmp).items():
        ns = new_netns()
        proc = await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", ns, *argv, stdout=asyncio.subprocess.PIPE
        )
        try:
            assert proc.stdout is not None
            if (await asyncio.wait_for(proc.stdout.readline(), 10)).strip() != b"ready":
                raise RuntimeError(f"{label} did not start")
            runs_ = [await measure(ns, datafile, seconds, rate) for _ in range(runs)]
            results.append(Result(label, 200, runs_))
            print(results[-1].row(rate), flush=True)
        finally:
            proc.kill()
            await proc.wait()
            subprocess.run(["ip", "netns", "delete", ns], check=False)
    return results


async def bench(names: list[int], runs: int, seconds: int, rate: int, floor: bool) -> None:
    tmp = tempfile.mkdtemp(prefix="dydnsbench-")
    try:
        print(
            f"dnsperf {dnsperf_version()} vs Dockyard resolver (python {sys.version.split()[0]}),"
            f" {os.cpu_count()} cores shared, {runs} runs × {seconds} s; median [min–max]"
        )
        print(
            f"{'server':>9} {'names':>5} {'QPS (-q 100)':<22} {'lost':>5} |"
            f" {'p50 µs at ' + str(rate // 1000) + 'k QPS':<20} {'p99 µs':<20}"
            f" {'p99.9 µs':<20} {'lost':>5} | vs Docker (issue #5)"
        )
        await bench_dockyard(names, runs, seconds, rate, tmp)
        if floor:
            await bench_floor(runs, seconds, rate, tmp)
        print(docker_note())
    finally:
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
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--floor", action="store_true", help="also measure minimal C and Python echo servers"
    )
    args = parser.parse_args()
    if os.geteuid() != 0 or not shutil.which("dnsperf"):
        sys.exit("needs root and dnsperf (apt-get install dnsperf)")
    names = [int(n) for n in args.names.split(",")]
    asyncio.run(bench(names, args.runs, args.seconds, args.latency_qps, args.floor))


if __name__ == "__main__":
    main()
