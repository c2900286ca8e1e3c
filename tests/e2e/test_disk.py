"""``system df`` and the prunes: through our CLI and the real docker CLI, against one
daemon."""

from __future__ import annotations

import shutil

import pytest

from tests.e2e.daemon import Daemon, lines, ok
from tests.integration.hosts import wait_for

pytestmark = pytest.mark.root

needs_docker = pytest.mark.skipif(shutil.which("docker") is None,
                                  reason="the docker CLI is not installed")


def _disk_fixture(daemon: Daemon) -> None:
    """One running container with a named volume (300 kB in it, 5 kB written to its own
    layer) and one exited container with 7 kB in its layer."""
    ok(daemon.cli("volume", "create", "data"))
    ok(daemon.cli("run", "-d", "--name", "busy", "-v", "data:/data", "busybox", "sh", "-c",
                  "head -c 300000 /dev/zero > /data/f; head -c 5000 /dev/zero > /big; "
                  "touch /ready; exec sleep 600"))
    ok(daemon.cli("run", "--name", "done", "busybox", "sh", "-c",
                  "head -c 7000 /dev/zero > /x"))
    wait_for(lambda: daemon.cli("exec", "busy", "test", "-e", "/ready").returncode == 0,
             timeout=10, what='the writes of "busy"')


def test_system_df_counts_layers_containers_and_volumes(busybox: Daemon) -> None:
    daemon = busybox
    _disk_fixture(daemon)
    rows = {line.split()[0]: line.split() for line in
            lines(ok(daemon.cli("system", "df")))[1:]}
    assert rows["Images"][1:3] == ["1", "1"]  # one image, used
    assert rows["Containers"][1:] == ["2", "1", "12kB", "7kB", "(58%)"]
    assert rows["Local"][2:] == ["1", "1", "300kB", "0B", "(0%)"]
    assert rows["Build"][2:] == ["0", "0", "0B", "0B"]
    verbose = ok(daemon.cli("system", "df", "-v"))
    assert "VOLUME NAME   LINKS     SIZE\ndata          1         300kB\n" in verbose
    assert ok(daemon.cli("system", "df", "--format", "{{.Type}}={{.TotalCount}}")) == \
        "Images=1\nContainers=2\nLocal Volumes=1\nBuild Cache=0\n"
    status, only = daemon.api("GET", "/system/df", query={"type": "volume"})
    assert status == 200 and isinstance(only, dict) and set(only) == {"Volumes"}
    assert only["Volumes"][0]["UsageData"] == {"Size": 300000, "RefCount": 1}
    bad = daemon.cli("system", "df", "-v", "--format", "x")
    assert bad.returncode == 125


@needs_docker
def test_docker_cli_system_df_matches_ours(busybox: Daemon) -> None:
    daemon = busybox
    _disk_fixture(daemon)
    assert ok(daemon.docker("system", "df")) == ok(daemon.cli("system", "df"))
    theirs = ok(daemon.docker("system", "df", "-v")).split("Local Volumes space usage:")[1]
    ours = ok(daemon.cli("system", "df", "-v")).split("Local Volumes space usage:")[1]
    assert theirs == ours


def test_prunes_honour_filters_and_report_space(busybox: Daemon) -> None:
    daemon = busybox
    ok(daemon.cli("run", "--name", "keep", "busybox", "true"))
    ok(daemon.cli("run", "--name", "drop", "--label", "tmp=1", "busybox", "sh", "-c",
                  "head -c 4000 /dev/zero > /f"))
    out = ok(daemon.cli("container", "prune", "-f", "--filter", "label=tmp"))
    assert out.startswith("Deleted Containers:\n")
    assert out.endswith("\nTotal reclaimed space: 4kB\n")
    assert ok(daemon.cli("ps", "-a", "--format", "{{.Names}}")) == "keep\n"
    ok(daemon.cli("run", "--rm", "-v", "/scratch", "busybox", "sh", "-c",
                  "head -c 3000 /dev/zero > /scratch/f"))
    ok(daemon.cli("volume", "create", "named"))
    out = ok(daemon.cli("volume", "prune", "-f"))  # anonymous volumes only
    assert out == "Total reclaimed space: 0B\n"  # --rm took its anonymous volume already
    ok(daemon.cli("run", "--name", "vol", "-v", "/scratch", "busybox", "sh", "-c",
                  "head -c 3000 /dev/zero > /scratch/f"))
    ok(daemon.cli("rm", "vol"))
    out = ok(daemon.cli("volume", "prune", "-f"))
    assert out.endswith("\n\nTotal reclaimed space: 3kB\n")
    assert ok(daemon.cli("volume", "ls", "-q")) == "named\n"


def test_system_prune_refuses_until_with_volumes_before_pruning(busybox: Daemon) -> None:
    daemon = busybox
    ok(daemon.cli("run", "--name", "stopped", "busybox", "true"))
    refused = daemon.cli("system", "prune", "-f", "--volumes", "--filter", "until=1h")
    assert (refused.returncode, refused.stderr) == (
        1, 'ERROR: The "until" filter is not supported with "--volumes"\n')
    assert ok(daemon.cli("ps", "-aq")).strip()  # nothing was pruned
