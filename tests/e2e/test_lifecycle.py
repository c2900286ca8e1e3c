"""Container lifecycle as Docker has it, through the daemon: rename reaching the embedded
DNS at once, restart policies at daemon start, ``die`` for exits while no daemon ran, and
container sizes."""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

import pytest

from dockyard.cli.output import human_size
from tests.e2e.daemon import Daemon, lines, ok
from tests.e2e.test_containers import eventually
from tests.integration.hosts import run_in

pytestmark = pytest.mark.root


@pytest.fixture
def box(busybox: Daemon) -> Daemon:
    return busybox  # (the shared fixture in conftest.py, by this file's name)


def inspect(d: Daemon, ref: str) -> dict[str, Any]:
    doc = json.loads(ok(d.cli("inspect", ref)))[0]
    assert isinstance(doc, dict)
    return doc


def dig(netns: str, name: str) -> list[str]:
    """The A records 127.0.0.11 answers inside ``netns`` (none if it forwards the name
    to an upstream this test host does not have)."""
    out = run_in(netns, ["dig", "@127.0.0.11", "+time=1", "+tries=1", "+short", name]).stdout
    return [line for line in out.splitlines() if line and not line.startswith(";")]


def events(d: Daemon, since: float, container: str) -> list[dict[str, Any]]:
    from dockyard.client.http import Client

    body = Client(d.url).request("GET", "/events", query={
        "since": f"{since:.9f}", "until": str(time.time() + 0.5),
        "filters": json.dumps({"type": ["container"], "container": [container]})}).body
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def test_rename_moves_the_dns_name_of_a_running_container_at_once(box: Daemon) -> None:
    d = box
    ok(d.cli("network", "create", "--subnet", "10.81.0.0/24", "ren"))
    web_id = ok(d.cli("run", "-d", "--name", "web", "--network", "ren", "--ip", "10.81.0.5",
                      "busybox", "sleep", "300")).strip()
    ok(d.cli("run", "-d", "--name", "client", "--network", "ren", "--ip", "10.81.0.6",
             "busybox", "sleep", "300"))
    netns = inspect(d, "client")["NetworkSettings"]["SandboxKey"]
    hosts = ok(d.cli("exec", "web", "cat", "/etc/hosts"))
    assert dig(netns, "web") == ["10.81.0.5"]
    since = time.time()

    ok(d.cli("rename", "web", "web2"))

    assert dig(netns, "web2") == ["10.81.0.5"]  # no restart needed
    assert dig(netns, "web") == []
    assert inspect(d, web_id)["Name"] == "/web2"
    members = json.loads(ok(d.cli("network", "inspect", "ren")))[0]["Containers"]
    assert members[web_id]["Name"] == "web2"
    assert ok(d.cli("exec", "web2", "cat", "/etc/hosts")) == hosts  # Docker's: untouched
    renamed = [e for e in events(d, since, web_id) if e["Action"] == "rename"]
    assert [e["Actor"]["Attributes"]["oldName"] for e in renamed] == ["/web"]
    assert renamed[0]["Actor"]["Attributes"]["name"] == "web2"

    # Refused renames: Docker's status codes, and nothing changes.
    status, body = d.api("POST", "/containers/web2/rename", query={"name": "client"})
    assert status == 409
    assert str(body["message"]).startswith(  # type: ignore[index]
        'Error when allocating new name: Conflict. The container name "/client" is '
        "already in use")
    refused = d.cli("rename", "web2", "client")
    assert refused.returncode == 1 and "Error response from daemon: " in refused.stderr
    status, body = d.api("POST", "/containers/web2/rename", query={"name": "bad name"})
    assert status == 400 and "Invalid container name" in str(body)
    assert d.api("POST", "/containers/web2/rename", query={"name": "web2"}) == (
        400, {"message": "Renaming a container with the same name as its current name"})
    assert d.api("POST", "/containers/web2/rename", query={"name": ""})[0] == 400
    assert dig(netns, "web2") == ["10.81.0.5"] and dig(netns, "client") == ["10.81.0.6"]
    assert sorted(ok(d.cli("ps", "--format", "{{.Names}}")).split()) == ["client", "web2"]

    # The new name is the one a restart brings back, and the old one is free again.
    ok(d.cli("restart", "-t", "1", "web2"))
    assert dig(netns, "web2") == ["10.81.0.5"] and dig(netns, "web") == []
    ok(d.cli("run", "-d", "--name", "web", "--network", "ren", "busybox", "sleep", "300"))


def test_daemon_start_starts_always_even_after_stop_but_not_unless_stopped(
        box: Daemon) -> None:
    d = box
    for name, policy in (("al", "always"), ("us", "unless-stopped"), ("of", "on-failure")):
        ok(d.cli("run", "-d", "--name", name, "--restart", policy, "busybox", "sleep", "300"))
    ok(d.cli("create", "--name", "never", "--restart", "always", "busybox", "sleep", "300"))
    assert ok(d.cli("stop", "-t", "1", "al", "us", "of")).split() == ["al", "us", "of"]
    assert ok(d.cli("ps", "-q")) == ""
    assert d.stop() == 0
    since = time.time()

    d.start()

    # Started before the daemon answers its first request, as Docker's restore does.
    states = {n: inspect(d, n)["State"]["Status"] for n in ("al", "us", "of", "never")}
    assert states == {"al": "running", "us": "exited", "of": "exited", "never": "created"}
    assert [e["Action"] for e in events(d, since, "al")] == ["start"]
    assert events(d, since, "us") == []
    # Started by the daemon is not stopped by the user: the policy holds again.
    pid = inspect(d, "al")["State"]["Pid"]
    os.kill(pid, signal.SIGKILL)
    eventually(lambda: inspect(d, "al")["State"]["Running"] is True
               and inspect(d, "al")["State"]["Pid"] != pid)


def test_a_start_after_a_stop_puts_the_restart_policy_back(box: Daemon) -> None:
    # `stop` marks the container stopped by its user, so `always` leaves it down; `start`
    # takes that back, and the next crash restarts it again.
    d = box
    ok(d.cli("run", "-d", "--name", "pol", "--restart", "always", "busybox", "sleep", "300"))
    ok(d.cli("stop", "-t", "0", "pol"))
    ok(d.cli("start", "pol"))
    pid = inspect(d, "pol")["State"]["Pid"]
    os.kill(pid, signal.SIGKILL)
    # (Running is already true while it waits to restart, as in Docker, with Pid 0.)
    eventually(lambda: inspect(d, "pol")["State"]["Status"] == "running"
               and inspect(d, "pol")["State"]["Pid"] not in (0, pid))
    assert inspect(d, "pol")["RestartCount"] == 1


def test_the_command_is_pid_1_unless_an_init_is_asked_for(box: Daemon) -> None:
    """As in Docker: the command is PID 1; --init (or dockerd --init, for containers that
    do not choose) puts an init there, which passes signals on."""
    d = box

    def pid_1(ref: str) -> str:
        return ok(d.cli("exec", ref, "cat", "/proc/1/cmdline")).replace("\0", " ").strip()

    status, info = d.api("GET", "/info")
    assert status == 200 and isinstance(info, dict)
    assert (info["DefaultRuntime"], info["InitBinary"]) == ("dyrun", "dyinit")
    ok(d.cli("run", "-d", "--name", "plain", "busybox", "sleep", "60"))
    ok(d.cli("run", "-d", "--name", "own", "--init", "busybox", "sleep", "60"))
    assert pid_1("plain") == "sleep 60"
    assert pid_1("own") == "/.dyinit sleep 60"
    assert d.stop() == 0
    d.args = ("--init",)
    d.start()
    ok(d.cli("run", "-d", "--name", "default", "busybox", "sleep", "60"))
    ok(d.cli("run", "-d", "--name", "refused", "--init=false", "busybox", "sleep", "60"))
    assert pid_1("default") == "/.dyinit sleep 60"
    assert pid_1("refused") == pid_1("plain") == "sleep 60"  # adopted across the restart
    assert ok(d.cli("inspect", "-f", "{{.HostConfig.Init}}", "plain", "default", "own",
                    "refused")).split() == ["<nil>", "<nil>", "true", "false"]
    # With an init, SIGTERM ends sleep at once (143); as PID 1 it is killed at the timeout.
    assert ok(d.cli("stop", "-t", "5", "default")) == "default\n"
    assert inspect(d, "default")["State"]["ExitCode"] == 143
    assert ok(d.cli("stop", "-t", "1", "plain")) == "plain\n"
    assert inspect(d, "plain")["State"]["ExitCode"] == 137


def test_exit_while_no_daemon_ran_is_reported_as_die(box: Daemon) -> None:
    d = box
    container_id = ok(d.cli(
        "run", "-d", "--name", "quitter", "--label", "tier=batch", "busybox", "sh", "-c",
        "while [ ! -e /go ]; do sleep 0.05; done; exit 3")).strip()
    merged = inspect(d, "quitter")["GraphDriver"]["Data"]["MergedDir"]
    ok(d.cli("run", "-d", "--name", "stays", "busybox", "sleep", "300"))
    assert d.stop(signal.SIGKILL) == -signal.SIGKILL
    with open(os.path.join(merged, "go"), "w"):
        pass  # the command sees it and exits 3 while no daemon runs
    status = os.path.join(d.host.root, "containers", container_id, "exit-status")
    eventually(lambda: os.path.getsize(status) > 0)
    since = time.time()

    d.start()

    state = inspect(d, "quitter")["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 3)
    died = [e for e in events(d, since, "quitter") if e["Action"] == "die"]
    assert len(died) == 1
    assert died[0]["Actor"]["ID"] == container_id
    attributes = died[0]["Actor"]["Attributes"]
    assert (attributes["exitCode"], attributes["name"], attributes["tier"]) == (
        "3", "quitter", "batch")
    assert events(d, since, "stays") == []  # adopted, still running: no event


def test_sizes_count_the_writable_layer_only_when_asked(box: Daemon) -> None:
    d = box
    # Written aside and renamed, so that the file is whole once it appears.
    ok(d.cli("run", "-d", "--name", "writer", "busybox", "sh", "-c",
             "head -c 12345 /dev/zero > /part && mv /part /blob && exec sleep 300"))
    eventually(lambda: d.cli("exec", "writer", "test", "-e", "/blob").returncode == 0)
    image_size = d.api("GET", "/images/busybox/json")[1]["Size"]  # type: ignore[index]
    assert image_size > 0

    _, doc = d.api("GET", "/containers/writer/json", query={"size": "1"})
    assert (doc["SizeRw"], doc["SizeRootFs"]) == (  # type: ignore[index]
        12345, image_size + 12345)
    _, doc = d.api("GET", "/containers/writer/json")
    assert "SizeRw" not in doc and "SizeRootFs" not in doc  # type: ignore[operator]
    assert ok(d.cli("inspect", "-s", "-f", "{{.SizeRw}} {{.SizeRootFs}}", "writer")) == (
        f"12345 {image_size + 12345}\n")
    _, listed = d.api("GET", "/containers/json", query={"size": "1"})
    assert [(c["SizeRw"], c["SizeRootFs"]) for c in listed] == [  # type: ignore[union-attr]
        (12345, image_size + 12345)]
    _, listed = d.api("GET", "/containers/json")
    assert "SizeRw" not in listed[0]  # type: ignore[index]

    expected = f"12.3kB (virtual {human_size(image_size + 12345)})"
    table = lines(ok(d.cli("ps", "-s")))
    assert table[0].split()[-1] == "SIZE" and table[1].endswith(expected)
    assert ok(d.cli("ps", "--format", "{{.Names}}: {{.Size}}")) == f"writer: {expected}\n"
    assert ok(d.docker("ps", "--size", "--format", "{{.Size}}")) == expected + "\n"

    ok(d.cli("stop", "-t", "1", "writer"))
    assert d.api("POST", "/containers/prune")[1]["SpaceReclaimed"] == 12345  # type: ignore[index]


def test_without_live_restore_a_daemon_stop_stops_containers_it_brings_back_later(
        box: Daemon) -> None:
    d = box
    d.stop()
    d.args = ("--live-restore=false",)
    d.start()
    status, info = d.api("GET", "/info")
    assert status == 200 and isinstance(info, dict) and info["LiveRestoreEnabled"] is False
    ok(d.cli("run", "-d", "--name", "back", "--init", "--restart", "always", "busybox",
             "sleep", "300"))
    ok(d.cli("run", "-d", "--name", "gone", "--init", "busybox", "sleep", "300"))
    # sleep as PID 1 ignores SIGTERM: killed once its own stop timeout is out
    ok(d.cli("run", "-d", "--name", "stubborn", "--stop-timeout", "1", "busybox", "sleep",
             "300"))
    pids = [inspect(d, n)["State"]["Pid"] for n in ("back", "gone", "stubborn")]
    begun = time.monotonic()
    assert d.stop() == 0
    assert time.monotonic() - begun < 8  # at once, not one grace period after another
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}")
    assert "3 running containers stopped" in d.log()
    d.args = ()
    d.start()
    codes = {n: (inspect(d, n)["State"]["Status"], inspect(d, n)["State"]["ExitCode"])
             for n in ("gone", "stubborn")}
    assert codes == {"gone": ("exited", 143), "stubborn": ("exited", 137)}
    # the daemon's stop was not the user's: always comes back
    assert inspect(d, "back")["State"]["Running"] is True
