"""What a container uses, read from /proc (and its memory cgroup, when it has one), for
``docker stats``.

Dockerd asks the container's cgroups; most of our containers have none (see
``kernel/cgroups.py`` for why), so the numbers come from the processes themselves: the
members of the container's PID namespace, as ``top`` finds them. Each reading is what a
cgroup would report, as near as /proc allows:

- CPU: user and system time of every member, plus that of the children they have
  waited for (``cutime``/``cstime``), so that a ``sh`` running short-lived commands
  counts their time too and the total only grows, as a cgroup's ``cpuacct.usage`` does.
- memory: the members' resident sets (pages shared between them counted once per
  process, which a cgroup would not do); a container with a memory group is read from
  the group instead.
- block I/O: the bytes members made the storage layer read and write (/proc/PID/io).
- network: the counters of the interfaces in the init's network namespace.

The parsers are pure functions of the files' text; :func:`sample` does the reading.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field

from dockyard.kernel.process import pid_namespace_members, start_time

NANOS = 1_000_000_000

# Devices the kernel makes in every new network namespace once their module is loaded;
# no endpoint of ours, so Docker (which lists endpoints) never shows them either.
FALLBACK_DEVICES = frozenset({"lo", "tunl0", "sit0", "gre0", "gretap0", "erspan0",
                              "ip_vti0", "ip6_vti0", "ip6tnl0", "ip6gre0"})
NET_DEV_FIELDS = ("rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
                  "tx_bytes", "tx_packets", "tx_errors", "tx_dropped")


@dataclass(frozen=True)
class CpuTimes:
    """Nanoseconds of CPU a container used, in user and in kernel mode."""

    user: int = 0
    kernel: int = 0

    @property
    def total(self) -> int:
        return self.user + self.kernel


@dataclass(frozen=True)
class HostCpu:
    """The host's CPU time in nanoseconds (Docker's ``system_cpu_usage``) and how many
    CPUs are online."""

    usage: int
    online: int


@dataclass(frozen=True)
class Memory:
    usage: int
    limit: int
    max_usage: int = 0
    failcnt: int = 0
    stats: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Sample:
    """One reading of a running container; ``read`` is the wall-clock time in ns."""

    read: int
    cpu: CpuTimes
    host_cpu: HostCpu
    memory: Memory
    pids: int
    io_read: int
    io_write: int
    networks: dict[str, dict[str, int]]


# -------------------------------------------------------------------- parsers (pure)


def parse_pid_cpu(stat: str, ticks_per_second: int) -> CpuTimes:
    """utime+cutime and stime+cstime (fields 14-17 of /proc/PID/stat) in nanoseconds.
    The command name may hold spaces and parentheses: fields count from the last ')'."""
    fields = stat[stat.rindex(")") + 2:].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    scale = NANOS // ticks_per_second
    return CpuTimes(user=(utime + cutime) * scale, kernel=(stime + cstime) * scale)


def parse_host_cpu(text: str, ticks_per_second: int) -> HostCpu:
    """/proc/stat: Docker's ``system_cpu_usage`` sums the first seven fields of the
    ``cpu`` line (user nice system idle iowait irq softirq, not steal nor guest); each
    ``cpuN`` line is one online CPU."""
    usage = 0
    online = 0
    for line in text.splitlines():
        if not line.startswith("cpu"):
            break
        name, *values = line.split()
        if name == "cpu":
            usage = sum(int(v) for v in values[:7]) * NANOS // ticks_per_second
        else:
            online += 1
    return HostCpu(usage=usage, online=online or os.cpu_count() or 1)


def parse_status_memory(text: str) -> dict[str, int]:
    """VmRSS and its parts (RssAnon, RssFile, RssShmem) of /proc/PID/status, in bytes;
    a kernel thread or a zombie has none."""
    wanted = {"VmRSS": "rss", "RssAnon": "anon", "RssFile": "file", "RssShmem": "shmem"}
    out = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in wanted:
            out[wanted[key]] = int(rest.split()[0]) * 1024  # always "kB"
    return out


def parse_io(text: str) -> tuple[int, int]:
    """(read_bytes, write_bytes) of /proc/PID/io: what reached the storage layer, not
    what ``read``/``write`` moved (that is ``rchar``/``wchar``, page cache included)."""
    values = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return int(values.get("read_bytes", 0)), int(values.get("write_bytes", 0))


def parse_net_dev(text: str) -> dict[str, dict[str, int]]:
    """/proc/PID/net/dev as ``{interface: {rx_bytes: …, tx_dropped: …}}``, without the
    loopback and the kernel's fallback tunnels."""
    out = {}
    for line in text.splitlines()[2:]:  # two header lines
        name, _, rest = line.partition(":")
        name = name.strip()
        if not rest or name in FALLBACK_DEVICES:
            continue
        v = [int(x) for x in rest.split()]
        # receive: bytes packets errs drop fifo frame compressed multicast; transmit:
        # bytes packets errs drop fifo colls carrier compressed
        out[name] = dict(zip(NET_DEV_FIELDS, (v[0], v[1], v[2], v[3], v[8], v[9], v[10],
                                              v[11]), strict=True))
    return out


def parse_meminfo_total(text: str) -> int:
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def parse_cgroup_stat(text: str) -> dict[str, int]:
    """A cgroup v1 ``memory.stat``: one ``key value`` per line."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            out[key] = int(value)
    return out


# -------------------------------------------------------------------------- reading


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def host_cpu() -> HostCpu:
    return parse_host_cpu(_read("/proc/stat"), os.sysconf("SC_CLK_TCK"))


def host_memory() -> int:
    return parse_meminfo_total(_read("/proc/meminfo"))


def _process_usage(pids: list[int], ticks: int) -> tuple[CpuTimes, dict[str, int], int, int]:
    """Summed CPU, memory and I/O of ``pids``; a process that exits meanwhile counts
    for nothing (its time moves to its parent's ``cutime`` when it is waited for)."""
    user = kernel = io_read = io_write = 0
    memory: dict[str, int] = {}
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            cpu = parse_pid_cpu(_read(f"/proc/{pid}/stat"), ticks)
            user, kernel = user + cpu.user, kernel + cpu.kernel
            for key, value in parse_status_memory(_read(f"/proc/{pid}/status")).items():
                memory[key] = memory.get(key, 0) + value
            done_read, done_write = parse_io(_read(f"/proc/{pid}/io"))
            io_read, io_write = io_read + done_read, io_write + done_write
    return CpuTimes(user=user, kernel=kernel), memory, io_read, io_write


def _cgroup_memory(group: str, limit: int) -> Memory | None:
    """The memory group's own accounting (page cache included, each page once), as
    dockerd reports a cgroup v1 container; None without a group."""
    try:
        usage = int(_read(os.path.join(group, "memory.usage_in_bytes")))
        stats = parse_cgroup_stat(_read(os.path.join(group, "memory.stat")))
    except (OSError, ValueError):
        return None
    return Memory(usage=usage, limit=limit, stats=stats,
                  max_usage=_read_int(group, "memory.max_usage_in_bytes"),
                  failcnt=_read_int(group, "memory.failcnt"))


def _read_int(group: str, name: str) -> int:
    try:
        return int(_read(os.path.join(group, name)))
    except (OSError, ValueError):
        return 0


def sample(init_pid: int, started: int | None, *, memory_limit: int = 0,
           memory_group: str | None = None, networks: bool = True) -> Sample | None:
    """A reading of the container whose init is ``init_pid`` (the process that started
    at ``started``), or None when that init is gone or was replaced.

    ``memory_limit`` (bytes, 0: none) is reported as the limit, else the host's memory;
    ``memory_group``, a memory cgroup directory, is read for the usage if it exists.
    Without ``networks`` (a container on the host's network) no interface is listed."""
    if started is not None and start_time(init_pid) != started:
        return None
    read = time.time_ns()
    ticks = os.sysconf("SC_CLK_TCK")
    members = pid_namespace_members(init_pid)
    try:
        if not members or os.stat(f"/proc/{init_pid}/ns/pid").st_ino == \
                os.stat("/proc/self/ns/pid").st_ino:
            return None  # never sum up the host's own processes
        net = parse_net_dev(_read(f"/proc/{init_pid}/net/dev")) if networks else {}
    except OSError:
        return None
    cpu, rss, io_read, io_write = _process_usage(members, ticks)
    system = host_cpu()
    total = host_memory()
    limit = min(memory_limit, total) if memory_limit > 0 else total
    memory = _cgroup_memory(memory_group, limit) if memory_group else None
    if memory is None:
        memory = Memory(usage=rss.pop("rss", 0), limit=limit, stats=rss)
    if started is not None and start_time(init_pid) != started:
        return None  # the pid was reused while we read: the numbers are someone else's
    return Sample(read=read, cpu=cpu, host_cpu=system, memory=memory, pids=len(members),
                  io_read=io_read, io_write=io_write, networks=net)
