"""``stats``: what containers use, as our CLI, the real docker CLI and docker-py see it,
against a daemon in a throw-away host namespace."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.cli.stats import binary_size
from tests.e2e.daemon import DOCKYARD, Daemon, lines, ok
from tests.e2e.test_containers import eventually

pytestmark = pytest.mark.root

HEADER = ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O",
          "BLOCK I/O", "PIDS"]
MiB = 1024 * 1024
UNITS = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 1024, "MiB": MiB, "GiB": 1024 * MiB}
BUSY_IP = "10.78.0.10"

needs_docker = pytest.mark.skipif(shutil.which("docker") is None,
                                  reason="the docker CLI is not installed on this machine")


def size(text: str) -> float:
    """``1.5MiB`` or ``294B`` as bytes."""
    match = re.fullmatch(r"([\d.]+)([A-Za-z]+)", text)
    assert match, text
    return float(match[1]) * UNITS[match[2]]


def table(out: str) -> dict[str, list[str]]:
    """A stats table as {name: cells}, its header checked (cells are 3+ spaces apart;
    a cell such as ``1.2MiB / 7.6GiB`` has single spaces)."""
    rows = [re.split(r" {2,}", line.strip()) for line in lines(out)]
    assert rows[0] == HEADER
    return {cells[1]: cells for cells in rows[1:]}


def host_memory() -> int:
    with open("/proc/meminfo") as f:
        return int(f.readline().split()[1]) * 1024


def one_shot(d: Daemon, ref: str) -> dict[str, Any]:
    status, doc = d.api("GET", f"/containers/{ref}/stats",
                        query={"stream": "0", "one-shot": "1"})
    assert status == 200 and isinstance(doc, dict), doc
    return doc


def commands(d: Daemon, ref: str) -> list[list[str]]:
    status, doc = d.api("GET", f"/containers/{ref}/top")
    assert status == 200 and isinstance(doc, dict)
    return [row[-1:] for row in doc["Processes"]]


@pytest.fixture
def d(busybox: Daemon) -> Iterator[Daemon]:
    """A container burning CPU (``busy``) and one holding ~30 MB in a shell variable
    (``hog``), on a user network."""
    ok(busybox.cli("network", "create", "--subnet", "10.78.0.0/24", "st"))
    ok(busybox.cli("run", "-d", "--name", "busy", "--network", "st", "--ip", BUSY_IP,
                   "busybox", "sh", "-c", "while :; do :; done"))
    ok(busybox.cli("run", "-d", "--name", "hog", "--network", "st", "busybox", "sh", "-c",
                   "x=$(head -c 30000000 /dev/zero | tr '\\0' a); sleep 600; echo ${#x}"))
    # Filled once the shell sleeps (its pipeline's CPU time is then counted and done);
    # the echo after the sleep keeps the shell, and ``x``, from being replaced by it.
    eventually(lambda: ["sleep 600"] in commands(busybox, "hog"))
    yield busybox


def test_cli_no_stream_table_format_and_network(d: Daemon) -> None:
    rows = table(ok(d.cli("stats", "--no-stream", "busy", "hog")))
    assert sorted(rows) == ["busy", "hog"]
    busy, hog = rows["busy"], rows["hog"]
    assert busy[0] == one_shot(d, "busy")["id"][:12]
    assert float(busy[2].rstrip("%")) > 10  # a shell spinning: most of one CPU
    assert float(hog[2].rstrip("%")) < 5  # sleeping
    used, limit = hog[3].split(" / ")
    assert size(used) > 28 * MiB and limit == binary_size(host_memory())
    assert size(busy[3].split(" / ")[0]) > 0
    assert 0 < float(hog[4].rstrip("%")) < 100
    assert hog[6] == "0B / 0B"  # nothing read from or written to a disk
    top = commands(d, "hog")
    assert int(hog[7]) == len(top) == 2  # the shell and its sleep

    assert ok(d.cli("stats", "--no-stream", "--no-trunc", "--format",
                    "{{.Container}} {{.ID}} {{.Name}} {{.PIDs}}", "hog")) == \
        f"hog {one_shot(d, 'hog')['id']} hog {len(top)}\n"
    [doc] = [json.loads(line) for line in lines(ok(d.cli(
        "stats", "--no-stream", "--format", "json", "busy")))]
    assert list(doc) == sorted(doc) and doc["Name"] == "busy" and doc["PIDs"] == "1"

    before = one_shot(d, "hog")["networks"]["eth0"]
    net_before = [size(v) for v in rows["hog"][5].split(" / ")]
    ok(d.cli("exec", "hog", "ping", "-c", "3", "-i", "0.2", "-W", "1", BUSY_IP))
    after = one_shot(d, "hog")["networks"]["eth0"]
    assert after["tx_packets"] >= before["tx_packets"] + 3
    assert after["rx_packets"] >= before["rx_packets"] + 3
    rx, tx = (size(v) for v in ok(d.cli("stats", "--no-stream", "--format", "{{.NetIO}}",
                                        "hog")).strip().split(" / "))
    assert rx >= net_before[0] + 3 * 84 and tx >= net_before[1] + 3 * 84  # 3 echoes


def test_stopped_and_unknown_containers(d: Daemon) -> None:
    assert d.cli("run", "--name", "done", "busybox", "true").returncode == 0
    running = table(ok(d.cli("stats", "--no-stream")))
    assert sorted(running) == ["busy", "hog"]
    rows = table(ok(d.cli("stats", "--no-stream", "-a")))
    assert sorted(rows) == ["busy", "done", "hog"]
    assert rows["done"][2:] == ["0.00%", "0B / 0B", "0.00%", "0B / 0B", "0B / 0B", "0"]

    status, doc = d.api("GET", "/containers/done/stats", query={"stream": "0"})
    assert status == 200 and isinstance(doc, dict)
    assert (doc["name"], doc["read"], doc["pids_stats"], doc["memory_stats"]) == (
        "/done", "0001-01-01T00:00:00Z", {}, {})
    assert doc["cpu_stats"]["cpu_usage"]["total_usage"] == 0 and "networks" not in doc

    missing = d.cli("stats", "--no-stream", "nope")
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == "Error response from daemon: No such container: nope\n"
    assert d.api("GET", "/containers/nope/stats", query={"stream": "0"}) == (
        404, {"message": "No such container: nope"})
    assert d.api("GET", "/containers/busy/stats", query={"stream": "1", "one-shot": "1"}
                 )[0] == 400


def test_cli_stream_redraws_until_interrupted(d: Daemon) -> None:
    seen = b""
    deadline = time.monotonic() + 10
    with subprocess.Popen([DOCKYARD, "--host", d.url, "stats", "busy"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        try:
            # Redrawn until the busy loop shows (a frame with a previous reading).
            while not re.search(rb"busy\s+(?!0\.00%)\d+\.\d\d%", seen):
                assert time.monotonic() < deadline, seen
                if select.select([proc.stdout], [], [], 0.5)[0]:
                    seen += os.read(proc.stdout.fileno(), 65536)
        finally:
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=10)
    assert code == 0
    assert seen.count(b"\033[H") >= 1 and b"CONTAINER ID" in seen


def test_cli_stream_lets_go_of_a_container_that_left(d: Daemon) -> None:
    """Without names the list is read again at each redraw; the stream of a container
    no longer in it ends, its thread too, instead of piling up. A stopped container is
    such a one (its stream would go on with zeros until it is removed)."""
    ok(d.cli("run", "-d", "--name", "brief", "busybox", "sleep", "600"))
    with subprocess.Popen([DOCKYARD, "--host", d.url, "stats"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE) as proc:
        try:
            threads = f"/proc/{proc.pid}/task"
            eventually(lambda: len(os.listdir(threads)) == 4)  # main + busy, hog, brief
            ok(d.cli("kill", "brief"))
            eventually(lambda: len(os.listdir(threads)) == 3)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=10)


@needs_docker
def test_docker_cli_stats(d: Daemon) -> None:
    ok(d.cli("run", "--name", "done", "busybox", "true"))
    rows = table(ok(d.docker("stats", "--no-stream", "busy", "hog", "done")))
    assert sorted(rows) == ["busy", "done", "hog"]
    busy, hog = rows["busy"], rows["hog"]
    assert busy[0] == one_shot(d, "busy")["id"][:12]
    assert float(busy[2].rstrip("%")) > 10
    assert size(hog[3].split(" / ")[0]) > 28 * MiB
    assert hog[3].split(" / ")[1] == binary_size(host_memory())
    assert int(hog[7]) >= 2 and int(busy[7]) == 1
    assert size(hog[5].split(" / ")[0]) > 0  # the network's first packets (IPv6 DAD, ARP)
    assert rows["done"][2:] == ["0.00%", "0B / 0B", "0.00%", "0B / 0B", "0B / 0B", "0"]
    # Our CLI prints the same cells for the same containers (CPU and memory move).
    ours = table(ok(d.cli("stats", "--no-stream", "busy", "hog", "done")))
    assert {name: cells[:2] + cells[6:] for name, cells in ours.items()} == \
        {name: cells[:2] + cells[6:] for name, cells in rows.items()}

    # Without names: the same containers, in the same order (newest first).
    def names(out: str) -> list[str]:
        return [line.split()[1] for line in lines(out)[1:]]

    assert names(ok(d.cli("stats", "--no-stream", "-a"))) == \
        names(ok(d.docker("stats", "--no-stream", "-a"))) == ["done", "hog", "busy"]

    missing = d.docker("stats", "--no-stream", "nope")
    assert missing.returncode == 1
    assert missing.stderr == d.cli("stats", "--no-stream", "nope").stderr


def test_dockerpy_stats(d: Daemon) -> None:
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=d.url, version="auto")
    try:
        container = client.containers.get("hog")
        doc = container.stats(stream=False)
        assert (doc["name"], doc["id"]) == ("/hog", container.id)
        assert doc["memory_stats"]["usage"] > 28 * MiB
        assert doc["memory_stats"]["limit"] == host_memory()
        assert doc["pids_stats"]["current"] >= 2
        assert doc["cpu_stats"]["online_cpus"] == os.cpu_count()
        # Two readings a second apart: the earlier one is precpu_stats.
        assert 0 < doc["precpu_stats"]["system_cpu_usage"] < doc["cpu_stats"][
            "system_cpu_usage"]
        assert doc["preread"] < doc["read"]
        assert set(doc["networks"]["eth0"]) == {
            "rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
            "tx_bytes", "tx_packets", "tx_errors", "tx_dropped"}
        assert [e["op"] for e in doc["blkio_stats"]["io_service_bytes_recursive"]] == [
            "read", "write"]

        single = container.stats(stream=False, one_shot=True)
        assert "system_cpu_usage" not in single["precpu_stats"]
        assert single["preread"] == "0001-01-01T00:00:00Z"

        frames = client.containers.get("busy").stats(decode=True)
        try:
            first, second = next(frames), next(frames)
        finally:
            frames.close()
        assert second["precpu_stats"] == first["cpu_stats"]
        assert second["cpu_stats"]["cpu_usage"]["total_usage"] > \
            first["cpu_stats"]["cpu_usage"]["total_usage"]
    finally:
        client.close()
