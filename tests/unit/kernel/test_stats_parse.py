"""What ``stats`` reads from /proc, parsed, and the Docker JSON made of it (pure)."""

from __future__ import annotations

import os

from dockyard.api.stats_json import stats_doc, timestamp
from dockyard.kernel.stats import (
    CpuTimes,
    HostCpu,
    Memory,
    Sample,
    parse_cgroup_stat,
    parse_host_cpu,
    parse_io,
    parse_meminfo_total,
    parse_net_dev,
    parse_pid_cpu,
    parse_status_memory,
)

# A command name with spaces and a parenthesis, which a naive split would misread.
PID_STAT = ("42 (my (odd) cmd) R 1 42 42 0 -1 4194560 120 0 0 0 "
            "250 40 7 3 20 0 1 0 12345 1000000 200 18446744073709551615")
PROC_STAT = """cpu  100 5 50 1000 10 2 3 40 0 0
cpu0 50 2 25 500 5 1 1 20 0 0
cpu1 50 3 25 500 5 1 2 20 0 0
intr 12345
"""
NET_DEV = "\n".join([  # the kernel's columns, spaced less widely
    "Inter-|   Receive                                                |  Transmit",
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
    "errs drop fifo colls carrier compressed",
    "    lo:  560  8 0 0 0 0 0 0   560 8 0 0 0 0 0 0",
    "  eth0: 5338 36 1 2 0 0 0 0   648 8 3 4 0 0 0 0",
    " tunl0:    0  0 0 0 0 0 0 0     0 0 0 0 0 0 0 0", ""])


def test_pid_cpu_counts_the_waited_for_children_too() -> None:
    # utime 250 + cutime 7 ticks, stime 40 + cstime 3, at 100 ticks a second.
    assert parse_pid_cpu(PID_STAT, 100) == CpuTimes(user=2_570_000_000,
                                                    kernel=430_000_000)


def test_host_cpu_sums_seven_fields_and_counts_cpus() -> None:
    # user nice system idle iowait irq softirq = 1170 ticks; steal (40) is left out.
    assert parse_host_cpu(PROC_STAT, 100) == HostCpu(usage=11_700_000_000, online=2)


def test_memory_io_and_meminfo() -> None:
    status = "Name:\tsh\nVmRSS:\t    1500 kB\nRssAnon:\t     300 kB\nRssFile:\t    1200 kB\n" \
             "RssShmem:\t       0 kB\n"
    assert parse_status_memory(status) == {"rss": 1_536_000, "anon": 307_200,
                                           "file": 1_228_800, "shmem": 0}
    assert parse_status_memory("Name:\tkthreadd\nState:\tS\n") == {}
    io = "rchar: 100\nwchar: 200\nread_bytes: 4096\nwrite_bytes: 8192\n"
    assert parse_io(io) == (4096, 8192)
    assert parse_meminfo_total("MemTotal:        8000000 kB\nMemFree: 1 kB\n") == 8_192_000_000
    assert parse_cgroup_stat("cache 4096\nrss 8192\ntotal_inactive_file 1024\n") == {
        "cache": 4096, "rss": 8192, "total_inactive_file": 1024}


def test_net_dev_without_loopback_and_fallback_tunnels() -> None:
    assert parse_net_dev(NET_DEV) == {"eth0": {
        "rx_bytes": 5338, "rx_packets": 36, "rx_errors": 1, "rx_dropped": 2,
        "tx_bytes": 648, "tx_packets": 8, "tx_errors": 3, "tx_dropped": 4}}


def test_timestamps_as_go_marshals_them() -> None:
    assert timestamp(1_700_000_000_123_450_000) == "2023-11-14T22:13:20.12345Z"
    assert timestamp(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"


def sample(read: int, total_user: int, system: int) -> Sample:
    return Sample(read=read, cpu=CpuTimes(user=total_user, kernel=10),
                  host_cpu=HostCpu(usage=system, online=2),
                  memory=Memory(usage=2048, limit=4096, stats={"anon": 1024}),
                  pids=3, io_read=512, io_write=0,
                  networks={"eth0": dict.fromkeys(("rx_bytes", "tx_bytes"), 7)})


def test_stats_doc_has_dockers_shape() -> None:
    first = sample(1_700_000_000_000_000_000, 100, 1000)
    doc = stats_doc("web", "abc", sample(1_700_000_001_000_000_000, 300, 3000), first)
    assert list(doc) == ["read", "preread", "pids_stats", "blkio_stats", "num_procs",
                         "storage_stats", "cpu_stats", "precpu_stats", "memory_stats",
                         "name", "id", "networks"]
    assert (doc["name"], doc["id"], doc["read"], doc["preread"]) == (
        "/web", "abc", "2023-11-14T22:13:21Z", "2023-11-14T22:13:20Z")
    assert doc["cpu_stats"] == {
        "cpu_usage": {"total_usage": 310, "usage_in_kernelmode": 10,
                      "usage_in_usermode": 300},
        "system_cpu_usage": 3000, "online_cpus": 2,
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
    assert doc["precpu_stats"]["cpu_usage"]["total_usage"] == 110
    assert doc["memory_stats"] == {"usage": 2048, "stats": {"anon": 1024}, "limit": 4096}
    assert doc["pids_stats"] == {"current": 3}
    assert doc["blkio_stats"]["io_service_bytes_recursive"] == [
        {"major": 0, "minor": 0, "op": "read", "value": 512},
        {"major": 0, "minor": 0, "op": "write", "value": 0}]
    assert doc["blkio_stats"]["io_serviced_recursive"] is None
    assert doc["networks"] == {"eth0": {"rx_bytes": 7, "tx_bytes": 7}}


def test_stats_doc_of_a_container_not_running_is_dockerds_zeros() -> None:
    doc = stats_doc("/done", "abc", None)
    empty_cpu = {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0,
                               "usage_in_usermode": 0},
                 "throttling_data": {"periods": 0, "throttled_periods": 0,
                                     "throttled_time": 0}}
    assert doc == {
        "read": "0001-01-01T00:00:00Z", "preread": "0001-01-01T00:00:00Z",
        "pids_stats": {}, "blkio_stats": dict.fromkeys(doc["blkio_stats"]),
        "num_procs": 0, "storage_stats": {}, "cpu_stats": empty_cpu,
        "precpu_stats": empty_cpu, "memory_stats": {}, "name": "/done", "id": "abc"}
    assert len(doc["blkio_stats"]) == 8


def test_sample_of_our_own_process_reads_real_files() -> None:
    # The parsers against this machine's real files (no container needed to read them).
    with open(f"/proc/{os.getpid()}/stat") as f:
        assert parse_pid_cpu(f.read(), os.sysconf("SC_CLK_TCK")).total > 0
    with open("/proc/stat") as f:
        assert parse_host_cpu(f.read(), os.sysconf("SC_CLK_TCK")).online >= 1
