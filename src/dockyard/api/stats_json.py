"""``GET /containers/{id}/stats`` bodies: a :class:`~dockyard.kernel.stats.Sample` in
the JSON of Docker's ``StatsResponse`` (pure).

The shape is that of a cgroup v2 dockerd: ``blkio_stats`` fills only
``io_service_bytes_recursive`` (lower-case ``read``/``write``, which the docker CLI sums
by the op's first letter), the other lists are ``null``; ``num_procs`` and
``storage_stats`` are Windows's, zero and empty. A container that is not running gets
the all-zero document dockerd sends (name and id only), which the CLI shows as 0s.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dockyard.kernel.stats import Sample

ZERO_TIME = "0001-01-01T00:00:00Z"
BLKIO_LISTS = ("io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
               "io_service_time_recursive", "io_wait_time_recursive",
               "io_merged_recursive", "io_time_recursive", "sectors_recursive")


def timestamp(ns: int) -> str:
    """Go's RFC 3339 with nanoseconds, as ``time.Time`` marshals: trailing zeros of the
    fraction dropped, and the fraction too when it is zero."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{nanos:09d}".rstrip("0")
    return f"{text}.{fraction}Z" if fraction else f"{text}Z"


def _cpu(sample: Sample | None) -> dict[str, Any]:
    if sample is None:  # Go's zero CPUStats: the omitempty fields left out
        doc: dict[str, Any] = {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0,
                                             "usage_in_usermode": 0}}
    else:
        doc = {"cpu_usage": {"total_usage": sample.cpu.total,
                             "usage_in_kernelmode": sample.cpu.kernel,
                             "usage_in_usermode": sample.cpu.user},
               "system_cpu_usage": sample.host_cpu.usage,
               "online_cpus": sample.host_cpu.online}
    doc["throttling_data"] = {"periods": 0, "throttled_periods": 0, "throttled_time": 0}
    return doc


def _memory(sample: Sample) -> dict[str, Any]:
    m = sample.memory
    doc: dict[str, Any] = {"usage": m.usage}
    if m.max_usage:
        doc["max_usage"] = m.max_usage
    doc["stats"] = dict(m.stats)
    if m.failcnt:
        doc["failcnt"] = m.failcnt
    doc["limit"] = m.limit
    return doc


def _blkio(sample: Sample | None) -> dict[str, Any]:
    doc: dict[str, Any] = dict.fromkeys(BLKIO_LISTS)
    if sample is not None:
        # No device: the bytes are the processes', not a disk's (major:minor 0:0).
        doc["io_service_bytes_recursive"] = [
            {"major": 0, "minor": 0, "op": "read", "value": sample.io_read},
            {"major": 0, "minor": 0, "op": "write", "value": sample.io_write}]
    return doc


def stats_doc(name: str, container_id: str, sample: Sample | None,
              previous: Sample | None = None) -> dict[str, Any]:
    """The body for one reading: ``sample`` (None: a container not running) and the
    one before it, whose CPU figures are ``precpu_stats`` (None: empty, as dockerd's
    first frame and ``one-shot`` answers have them)."""
    doc: dict[str, Any] = {
        "read": ZERO_TIME if sample is None else timestamp(sample.read),
        "preread": ZERO_TIME if previous is None else timestamp(previous.read),
        "pids_stats": {} if sample is None else {"current": sample.pids},
        "blkio_stats": _blkio(sample),
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": _cpu(sample),
        "precpu_stats": _cpu(previous),
        "memory_stats": {} if sample is None else _memory(sample),
        "name": "/" + name.removeprefix("/"),
        "id": container_id,
    }
    if sample is not None and sample.networks:  # omitted without networking, as Docker's
        doc["networks"] = {ifname: dict(counters)
                           for ifname, counters in sorted(sample.networks.items())}
    return doc
