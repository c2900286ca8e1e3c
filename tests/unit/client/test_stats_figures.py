"""``dockyard stats``: the figures the docker CLI computes from a stats reading, and the
way it prints them (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.cli.stats import (
    binary_size,
    block_io,
    cpu_percent,
    decimal_size,
    memory_used,
    render,
    row,
)

GiB = 1024 ** 3


def reading(total: int, system: int, pre_total: int, pre_system: int,
            online: int = 2) -> dict[str, Any]:
    return {"cpu_stats": {"cpu_usage": {"total_usage": total}, "system_cpu_usage": system,
                          "online_cpus": online},
            "precpu_stats": {"cpu_usage": {"total_usage": pre_total},
                             "system_cpu_usage": pre_system}}


def test_cpu_percent_is_the_share_of_host_time_times_the_cpus() -> None:
    # 0.5 s of CPU while the host's two CPUs ran 2 s: half of one CPU.
    assert cpu_percent(reading(1_500_000_000, 12_000_000_000,
                               1_000_000_000, 10_000_000_000)) == pytest.approx(50.0)
    # A whole CPU of two is 100%, not 50%.
    assert cpu_percent(reading(1_000_000_000, 12_000_000_000,
                               0, 10_000_000_000)) == pytest.approx(100.0)


def test_cpu_percent_without_a_previous_reading_or_a_positive_delta() -> None:
    # one-shot: precpu_stats is empty, so the counters since boot are compared.
    single = reading(5_000_000, 10_000_000_000, 0, 0)
    single["precpu_stats"] = {"cpu_usage": {"total_usage": 0}}
    assert cpu_percent(single) == pytest.approx(5e6 / 1e10 * 2 * 100)
    assert cpu_percent(reading(100, 200, 100, 100)) == 0.0  # no CPU used
    assert cpu_percent(reading(50, 200, 100, 100)) == 0.0  # a counter that went back
    assert cpu_percent({}) == 0.0  # a stopped container's zeros
    # An old daemon without online_cpus: the per-CPU list counts them.
    old = reading(2_000_000_000, 12_000_000_000, 0, 10_000_000_000, online=0)
    old["cpu_stats"]["cpu_usage"]["percpu_usage"] = [1, 2, 3, 4]
    assert cpu_percent(old) == pytest.approx(400.0)


def test_memory_used_leaves_out_the_inactive_page_cache() -> None:
    assert memory_used({"usage": 1000, "stats": {"total_inactive_file": 300}}) == 700
    assert memory_used({"usage": 1000, "stats": {"inactive_file": 100}}) == 900
    assert memory_used({"usage": 1000, "stats": {"inactive_file": 5000}}) == 1000
    assert memory_used({"usage": 1000, "stats": {"anon": 900}}) == 1000
    assert memory_used({}) == 0


def test_block_io_sums_reads_and_writes_of_either_case() -> None:
    blkio = {"io_service_bytes_recursive": [
        {"major": 8, "minor": 0, "op": "Read", "value": 10},
        {"major": 8, "minor": 0, "op": "Write", "value": 20},
        {"major": 8, "minor": 0, "op": "Total", "value": 30},
        {"major": 0, "minor": 0, "op": "read", "value": 1},
        {"major": 0, "minor": 0, "op": "write", "value": 2}]}
    assert block_io(blkio) == (11, 22)
    assert block_io({"io_service_bytes_recursive": None}) == (0, 0)


@pytest.mark.parametrize(("size", "binary", "decimal"), [
    (0, "0B", "0B"),
    (999, "999B", "999B"),
    (1100, "1.074KiB", "1.1kB"),
    (1024, "1KiB", "1.02kB"),
    (1536 * 1024, "1.5MiB", "1.57MB"),
    (23.47 * GiB, "23.47GiB", "25.2GB"),
    (123456789, "117.7MiB", "123MB"),
])
def test_sizes_as_go_units_prints_them(size: float, binary: str, decimal: str) -> None:
    assert (binary_size(size), decimal_size(size)) == (binary, decimal)


def doc() -> dict[str, Any]:
    return {
        "name": "/web", "id": "0123456789abcdef" * 4,
        "cpu_stats": {"cpu_usage": {"total_usage": 300_000_000},
                      "system_cpu_usage": 4_000_000_000, "online_cpus": 2},
        "precpu_stats": {"cpu_usage": {"total_usage": 100_000_000},
                         "system_cpu_usage": 2_000_000_000},
        "memory_stats": {"usage": 1536 * 1024, "limit": 2 * GiB, "stats": {}},
        "blkio_stats": {"io_service_bytes_recursive": [{"op": "read", "value": 4096},
                                                       {"op": "write", "value": 0}]},
        "pids_stats": {"current": 3},
        "networks": {"eth0": {"rx_bytes": 1100, "tx_bytes": 648},
                     "eth1": {"rx_bytes": 100, "tx_bytes": 0}},
    }


def test_row_cells_as_docker_prints_them() -> None:
    assert row(doc(), "web") == {
        "BlockIO": "4.1kB / 0B", "CPUPerc": "20.00%", "Container": "web",
        "ID": "0123456789ab", "MemPerc": "0.07%", "MemUsage": "1.5MiB / 2GiB",
        "Name": "web", "NetIO": "1.2kB / 648B", "PIDs": "3"}
    assert row(doc(), "web", trunc=False)["ID"] == "0123456789abcdef" * 4


def test_a_stopped_container_reads_as_zeros_and_a_failed_one_as_dashes() -> None:
    zeros = row({"name": "/done", "id": "abc", "memory_stats": {}, "pids_stats": {},
                 "cpu_stats": {"cpu_usage": {"total_usage": 0}}}, "done")
    assert [zeros[k] for k in ("Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO",
                               "BlockIO", "PIDs")] == [
        "done", "0.00%", "0B / 0B", "0.00%", "0B / 0B", "0B / 0B", "0"]
    failed = row(None, "gone")
    assert (failed["Name"], failed["CPUPerc"], failed["MemUsage"], failed["PIDs"]) == (
        "--", "--", "-- / --", "--")


def test_render_default_table_template_and_json() -> None:
    rows = [row(doc(), "web")]
    assert render("", rows).splitlines() == [
        "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O        "
        "BLOCK I/O    PIDS",
        "0123456789ab   web       20.00%    1.5MiB / 2GiB       0.07%     1.2kB / 648B   "
        "4.1kB / 0B   3"]
    assert render("table", rows) == render("", rows)
    assert render("{{.Name}}: {{.CPUPerc}}", rows) == "web: 20.00%\n"
    assert render("table {{.Container}}\t{{.PIDs}}", rows) == "CONTAINER   PIDS\nweb         3\n"
    assert render("json", rows) == (
        '{"BlockIO":"4.1kB / 0B","CPUPerc":"20.00%","Container":"web","ID":"0123456789ab",'
        '"MemPerc":"0.07%","MemUsage":"1.5MiB / 2GiB","Name":"web","NetIO":"1.2kB / 648B",'
        '"PIDs":"3"}\n')
