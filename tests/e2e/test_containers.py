"""Containers through the daemon: our CLI, docker-py and the real docker CLI, each against
its own daemon in a throw-away host namespace, with a busybox image imported first."""

from __future__ import annotations

import json
import shutil
import signal
import sys
import time
from collections.abc import Callable

import pytest

from tests.e2e.daemon import Daemon, lines, ok

pytestmark = pytest.mark.root

FETCH = ("import sys, urllib.request; "
         "print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())")


def fetch(daemon: Daemon, url: str) -> str:
    """An HTTP GET from the daemon's host namespace (where published ports live)."""
    result = daemon.host.run([sys.executable, "-c", FETCH, url])
    assert result.returncode == 0, result.stderr
    return str(result.stdout)


def eventually(check: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def inspect(daemon: Daemon, ref: str) -> dict[str, object]:
    doc = json.loads(ok(daemon.cli("inspect", ref)))[0]
    assert isinstance(doc, dict)
    return doc


def test_cli_run_ps_logs_exec_port_stop_rm(busybox: Daemon) -> None:
    d = busybox
    ok(d.cli("network", "create", "--subnet", "10.77.0.0/24", "app"))
    container_id = ok(d.cli(
        "run", "-d", "--name", "web", "--network", "app", "--network-alias", "www",
        "--hostname", "front", "-p", "8080:80", "-e", "GREETING=hello", "--label", "tier=front",
        "busybox",
        "sh", "-c", "echo started; echo oops >&2; echo $GREETING > /www; "
        "exec httpd -f -p 80 -h /")).strip()
    assert len(container_id) == 64

    table = lines(ok(d.cli("ps")))
    assert table[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
                                "PORTS", "NAMES"]
    assert len(table) == 2 and table[1].startswith(container_id[:12])
    assert "Up " in table[1] and table[1].endswith("web")
    assert "0.0.0.0:8080->80/tcp" in table[1]
    assert ok(d.cli("ps", "-q", "--filter", "label=tier=front")).split() == [container_id[:12]]
    assert ok(d.cli("ps", "-q", "--filter", "network=app")).split() == [container_id[:12]]
    assert ok(d.cli("ps", "-q", "--filter", "name=nothere")) == ""
    assert ok(d.cli("ps", "--format", "{{.Names}} {{.State}}")) == "web running\n"

    eventually(lambda: "started" in d.cli("logs", "web").stdout)
    logs = d.cli("logs", "web")
    assert logs.stdout == "started\n" and logs.stderr == "oops\n"
    last = d.cli("logs", "--tail", "1", "web")  # the tail counts both streams
    assert (last.stdout, last.stderr) == ("", "oops\n")
    assert ok(d.cli("logs", "-t", "web")).split(" ", 1)[0].endswith("Z")

    assert ok(d.cli("exec", "web", "cat", "/www")) == "hello\n"
    assert ok(d.cli("exec", "-e", "X=1", "-w", "/etc", "web", "sh", "-c", "pwd; echo $X")
              ) == "/etc\n1\n"
    assert d.cli("exec", "web", "sh", "-c", "exit 7").returncode == 7
    assert d.cli("exec", "web", "nosuchcommand").returncode == 127

    doc = inspect(d, "web")
    networks = doc["NetworkSettings"]["Networks"]  # type: ignore[index]
    assert networks["app"]["IPAddress"].startswith("10.77.0.")
    assert networks["app"]["Aliases"] == ["www"]
    # Docker's order, whose first name answers reverse lookups
    assert networks["app"]["DNSNames"] == ["web", "www", container_id[:12], "front"]
    assert ok(d.cli("inspect", "-f", "{{.State.Status}} {{.Config.Image}}", "web")
              ) == "running busybox\n"
    assert ok(d.cli("port", "web")) == "80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n"
    assert ok(d.cli("port", "web", "80")).splitlines()[0] == "0.0.0.0:8080"
    assert "httpd" in ok(d.cli("top", "web"))

    # Reached from the host through the published port, and by alias from a peer.
    assert fetch(d, "http://10.77.0.1:8080/www").strip() == "hello"
    peer = d.cli("run", "--rm", "--network", "app", "busybox", "wget", "-qO-", "http://www/www")
    assert peer.returncode == 0, peer.stderr
    assert peer.stdout == "hello\n"

    assert ok(d.cli("stop", "-t", "1", "web")) == "web\n"
    assert "Exited (" in ok(d.cli("ps", "-a"))
    assert ok(d.cli("ps", "-q")) == ""
    assert ok(d.cli("rm", "web")) == "web\n"
    assert ok(d.cli("ps", "-aq")) == ""
    gone = d.cli("rm", "web")
    assert gone.returncode == 1
    assert gone.stderr == "Error response from daemon: No such container: web\n"


def test_cli_attached_run_exit_codes_and_rm(busybox: Daemon) -> None:
    d = busybox
    result = d.cli("run", "--name", "once", "busybox", "sh", "-c",
                   "echo out; echo err >&2; exit 3")
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert "Exited (3)" in ok(d.cli("ps", "-a", "--filter", "name=once"))
    assert ok(d.cli("wait", "once")) == "3\n"

    gone = d.cli("run", "--rm", "--name", "gone", "busybox", "sh", "-c", "echo bye; exit 4")
    assert (gone.returncode, gone.stdout) == (4, "bye\n")
    # The removal AutoRemove makes is an event too, as Docker reports it; `wait` and the
    # attached output wake on these events instead of polling the store.
    from dockyard.client.http import Client

    body = Client(d.url).request("GET", "/events", query={
        "since": "0", "until": str(time.time() + 0.5),
        "filters": json.dumps({"type": ["container"], "container": ["gone"]})}).body
    events = [json.loads(line) for line in body.splitlines() if line.strip()]
    assert [e["Action"] for e in events] == ["create", "attach", "start", "die", "destroy"]
    # Its sandbox went at the exit: a disconnect from the network it was connected to.
    body = Client(d.url).request("GET", "/events", query={
        "since": "0", "until": str(time.time() + 0.5),
        "filters": json.dumps({"type": ["network"], "container": [events[0]["id"]]})}).body
    network_events = [json.loads(line) for line in body.splitlines() if line.strip()]
    assert [(e["Action"], e["Actor"]["Attributes"]["name"]) for e in network_events] == [
        ("connect", "bridge"), ("disconnect", "bridge")]
    assert ok(d.cli("ps", "-aq", "--filter", "status=exited")).split() == [
        inspect(d, "once")["Id"][:12]]  # type: ignore[index]

    missing = d.cli("run", "busybox", "nosuchcommand")
    assert missing.returncode == 127
    assert "executable file not found" in missing.stderr
    no_image = d.cli("run", "nosuchimage")
    assert no_image.returncode == 125
    assert "No such image: nosuchimage" in no_image.stderr

    ok(d.cli("create", "--name", "later", "busybox", "sleep", "60"))
    assert "Created" in ok(d.cli("ps", "-a", "--filter", "name=later"))
    assert ok(d.cli("start", "later")) == "later\n"
    ok(d.cli("rename", "later", "renamed"))
    assert ok(d.cli("ps", "--format", "{{.Names}}")) == "renamed\n"
    assert ok(d.cli("kill", "renamed")) == "renamed\n"
    eventually(lambda: d.cli("ps", "-q").stdout == "")
    assert ok(d.cli("rm", "-f", "renamed", "once")) == "renamed\nonce\n"


def test_volumes_and_events(busybox: Daemon) -> None:
    d = busybox
    assert ok(d.cli("volume", "create", "--label", "k=v", "data")) == "data\n"
    ok(d.cli("run", "--rm", "-v", "data:/data", "busybox", "sh", "-c", "echo kept > /data/f"))
    assert ok(d.cli("run", "--rm", "--mount", "type=volume,source=data,target=/d",
                    "busybox", "cat", "/d/f")) == "kept\n"
    assert lines(ok(d.cli("volume", "ls"))) == ["DRIVER    VOLUME NAME", "local     data"]
    assert ok(d.cli("volume", "ls", "-q", "--filter", "label=k=v")) == "data\n"
    doc = json.loads(ok(d.cli("volume", "inspect", "data")))[0]
    assert doc["Name"] == "data" and doc["Driver"] == "local" and doc["Labels"] == {"k": "v"}
    ok(d.cli("run", "-d", "--name", "user", "-v", "data:/data", "-v", "/anon", "busybox",
             "sleep", "60"))
    busy = d.cli("volume", "rm", "data")
    assert busy.returncode == 1 and "volume is in use" in busy.stderr
    ok(d.cli("rm", "-f", "-v", "user"))
    assert ok(d.cli("volume", "ls", "-q")) == "data\n"  # the anonymous one went with -v
    assert ok(d.cli("volume", "prune", "-f")) == "Total reclaimed space: 0B\n"
    assert "data" in ok(d.cli("volume", "prune", "-f", "-a"))
    assert ok(d.cli("volume", "ls", "-q")) == ""

    from dockyard.client.http import Client

    body = Client(d.url).request("GET", "/events", query={
        "since": "0", "until": str(time.time() + 0.5),
        "filters": json.dumps({"type": ["container"], "container": ["user"]})}).body
    actions = [json.loads(line)["Action"] for line in body.splitlines() if line.strip()]
    assert actions[:2] == ["create", "start"]
    assert "die" in actions and actions[-1] == "destroy"


def test_bad_container_requests_change_nothing(busybox: Daemon) -> None:
    d = busybox
    ok(d.cli("run", "-d", "--name", "taken", "busybox", "sleep", "60"))
    before = d.api("GET", "/containers/json", query={"all": "1"})
    status, body = d.api("POST", "/containers/create", {"Image": "nosuchimage"})
    assert (status, body) == (404, {"message": "No such image: nosuchimage"})
    status, body = d.api("POST", "/containers/create", {"Image": "busybox"},
                         query={"name": "bad name!"})
    assert status == 400 and "Invalid container name" in body["message"]  # type: ignore[index]
    status, body = d.api("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"]},
                         query={"name": "taken"})
    assert status == 409 and 'The container name "/taken" is already in use' in str(body)
    status, body = d.api("POST", "/containers/create", {"Image": "busybox", "Env": "A=1"})
    assert status == 400 and '"Env" must be an array' in str(body)
    status, _ = d.api("POST", "/containers/create", raw=b"{not json")
    assert status == 400
    # A network that does not exist is refused at the start, as dockerd does (it may be
    # made in between); a 404 on the create would make the docker CLI pull the image.
    status, body = d.api("POST", "/containers/create", {
        "Image": "busybox", "Cmd": ["true"], "HostConfig": {"NetworkMode": "nosuchnet"}})
    assert status == 201, body
    assert d.api("POST", f"/containers/{body['Id']}/start") == (  # type: ignore[index]
        404, {"message": "failed to set up container networking: network nosuchnet not found"})
    ok(d.cli("rm", body["Id"]))  # type: ignore[index]
    # With AutoRemove (--rm) it is removed then, as dockerd does: `docker run --rm` waits
    # for that removal and would wait forever.
    status, body = d.api("POST", "/containers/create", {
        "Image": "busybox", "Cmd": ["true"],
        "HostConfig": {"NetworkMode": "nosuchnet", "AutoRemove": True}})
    assert d.api("POST", f"/containers/{body['Id']}/start")[0] == 404  # type: ignore[index]
    assert d.api("GET", f"/containers/{body['Id']}/json")[0] == 404  # type: ignore[index]
    assert d.api("POST", "/containers/nosuch/start") == (
        404, {"message": "No such container: nosuch"})
    # Starting a running container: Docker's 304, nothing done.
    started = ok(d.cli("run", "-d", "busybox", "sleep", "60")).strip()
    assert d.api("POST", f"/containers/{started}/start")[0] == 304
    assert inspect(d, started)["State"]["Running"] is True
    ok(d.cli("rm", "-f", started))
    assert d.api("GET", "/containers/json", query={"all": "1"}) == before
    assert json.loads(ok(d.cli("network", "inspect", "bridge")))[0]["Containers"].keys() == {
        inspect(d, "taken")["Id"]}


def test_run_detached_starts_with_one_request_and_fails_as_docker_does(
        busybox: Daemon) -> None:
    d = busybox
    ok(d.cli("run", "-d", "--name", "one", "busybox", "sleep", "60"))
    assert inspect(d, "one")["State"]["Running"] is True
    # A command that cannot start: docker's message and exit code, the container left
    # created (removed with --rm), as with a separate start request.
    failed = d.cli("run", "-d", "--name", "broken", "busybox", "nosuchcmd")
    assert failed.returncode == 127, failed.stderr
    assert 'exec: "nosuchcmd": executable file not found in $PATH' in failed.stderr
    assert inspect(d, "broken")["State"]["Status"] == "created"
    gone = d.cli("run", "-d", "--rm", "--name", "gone", "busybox", "nosuchcmd")
    assert gone.returncode == 127, gone.stderr
    assert d.cli("inspect", "gone").returncode == 1
    # Without our query the API does what Docker's does: create only.
    spec = {"Image": "busybox", "Cmd": ["sleep", "60"]}
    status, body = d.api("POST", "/containers/create", spec)
    assert status == 201 and isinstance(body, dict) and "DockyardStarted" not in body
    assert inspect(d, body["Id"])["State"]["Status"] == "created"
    status, body = d.api("POST", "/containers/create", spec, query={"dockyard-start": "1"})
    assert status == 201 and isinstance(body, dict) and body["DockyardStarted"] is True
    assert inspect(d, body["Id"])["State"]["Running"] is True
    ok(d.cli("rm", "-f", *ok(d.cli("ps", "-aq")).split()))


def test_dockerpy_containers(busybox: Daemon, dockerpy: object) -> None:
    import docker

    client: docker.DockerClient = dockerpy  # type: ignore[assignment]
    client.networks.create("pynet", driver="bridge")
    c = client.containers.run("busybox", ["sh", "-c", "echo ready; exec sleep 60"],
                              detach=True, name="py", network="pynet", ports={"80/tcp": 8081},
                              environment={"A": "b"}, labels={"x": "y"})
    eventually(lambda: b"ready" in c.logs())
    c.reload()
    assert c.status == "running" and c.name == "py"
    assert c.attrs["NetworkSettings"]["Networks"]["pynet"]["IPAddress"]
    assert c.ports == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8081"},
                                  {"HostIp": "::", "HostPort": "8081"}]}
    assert [x.id for x in client.containers.list(filters={"label": "x=y"})] == [c.id]
    code, output = c.exec_run(["sh", "-c", "echo $A; exit 2"])
    assert (code, output) == (2, b"b\n")
    assert client.containers.run("busybox", ["echo", "attached"], remove=True) == b"attached\n"
    with pytest.raises(docker.errors.ContainerError) as failed:
        client.containers.run("busybox", ["sh", "-c", "exit 9"], remove=True)
    assert failed.value.exit_status == 9
    with pytest.raises(docker.errors.ImageNotFound):
        client.containers.create("nosuchimage")
    c.stop(timeout=1)  # sleep, PID 1 without an init, ignores SIGTERM: killed at 1 s
    assert c.wait()["StatusCode"] == 128 + signal.SIGKILL
    c.reload()
    assert c.status == "exited"
    c.remove(force=True)
    assert client.containers.list(all=True) == []


@pytest.mark.skipif(shutil.which("docker") is None, reason="the docker CLI is not installed")
def test_docker_cli_containers(busybox: Daemon) -> None:
    d = busybox
    ok(d.docker("network", "create", "dnet"))
    container_id = ok(d.docker("run", "-d", "--name", "dk", "--network", "dnet", "-p",
                               "8082:80", "busybox", "sh", "-c",
                               "echo up; echo hi > /i; exec httpd -f -p 80 -h /")).strip()
    assert len(container_id) == 64
    table = lines(ok(d.docker("ps")))
    assert table[0].split()[:3] == ["CONTAINER", "ID", "IMAGE"]
    assert table[1].startswith(container_id[:12]) and table[1].endswith("dk")
    assert "0.0.0.0:8082->80/tcp" in table[1]
    assert ok(d.docker("exec", "dk", "cat", "/i")) == "hi\n"
    assert d.docker("exec", "dk", "sh", "-c", "exit 3").returncode == 3
    eventually(lambda: d.docker("logs", "dk").stdout == "up\n")
    assert ok(d.docker("inspect", "-f", "{{.State.Running}}", "dk")) == "true\n"
    attached = d.docker("run", "--rm", "busybox", "sh", "-c", "echo fine; exit 6")
    assert (attached.returncode, attached.stdout) == (6, "fine\n")
    assert ok(d.docker("rm", "-f", "dk")) == "dk\n"
    # A missing network: refused at the start, the container left created, and no pull.
    missing = d.docker("run", "--name", "lost", "--network", "nosuch", "busybox", "true")
    assert missing.returncode == 125
    assert "Unable to find image" not in missing.stderr
    assert missing.stderr.startswith("docker: Error response from daemon: failed to set up "
                                     "container networking: network nosuch not found\n")
    assert ok(d.docker("ps", "-a", "--format", "{{.Names}} {{.State}}")) == "lost created\n"
    ok(d.docker("rm", "lost"))
    # With --rm the CLI waits for the removal: it comes, and the run ends (d.docker's
    # timeout fails the test if it never does).
    gone = d.docker("run", "--rm", "--network", "nosuch", "busybox", "true")
    assert gone.returncode == 125 and "network nosuch not found" in gone.stderr
    assert ok(d.docker("ps", "-aq")) == ""


def test_daemon_sigkill_leaves_containers_running(busybox: Daemon) -> None:
    import os

    d = busybox
    ok(d.cli("network", "create", "--subnet", "10.78.0.0/24", "keep"))
    ok(d.cli("run", "-d", "--name", "web", "--network", "keep", "-p", "8083:80", "busybox",
             "sh", "-c", "echo alive > /a; exec httpd -f -p 80 -h /"))
    ok(d.cli("run", "-d", "--name", "always", "--restart", "always", "busybox", "sleep",
             "300"))
    eventually(lambda: fetch(d, "http://10.78.0.1:8083/a").strip() == "alive")
    web_pid = inspect(d, "web")["State"]["Pid"]  # type: ignore[index]
    always_pid = inspect(d, "always")["State"]["Pid"]  # type: ignore[index]

    assert d.stop(signal.SIGKILL) == -signal.SIGKILL
    os.kill(always_pid, signal.SIGKILL)  # dies while no daemon watches
    assert fetch(d, "http://10.78.0.1:8083/a").strip() == "alive"  # nothing torn down
    d.start()

    assert inspect(d, "web")["State"]["Pid"] == web_pid  # type: ignore[index]
    eventually(lambda: inspect(d, "always")["State"]["Running"] is True  # type: ignore[index]
               and inspect(d, "always")["State"]["Pid"] != always_pid)  # type: ignore[index]
    assert inspect(d, "always")["RestartCount"] >= 1  # type: ignore[operator]
    names = sorted(ok(d.cli("ps", "--format", "{{.Names}}")).split())
    assert names == ["always", "web"]
    assert fetch(d, "http://10.78.0.1:8083/a").strip() == "alive"
    assert ok(d.cli("exec", "web", "cat", "/a")) == "alive\n"
    ok(d.cli("rm", "-f", "web", "always"))


def test_rm_force_of_an_autoremove_container(busybox: Daemon) -> None:
    """Its own removal on exit (AutoRemove) must not make ``rm -f`` fail."""
    d = busybox
    ok(d.cli("run", "-d", "--rm", "--name", "brief", "busybox", "sleep", "600"))
    assert ok(d.cli("rm", "-f", "brief")) == "brief\n"
    assert d.cli("inspect", "brief").returncode == 1


def test_legacy_address_fields_follow_the_default_bridge_endpoint(busybox: Daemon) -> None:
    d = busybox
    ok(d.cli("network", "create", "--subnet", "10.79.0.0/24", "own"))
    ok(d.cli("run", "-d", "--name", "legacy", "--network", "own", "busybox", "sleep", "300"))
    legacy = "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}}"
    assert ok(d.cli("inspect", "-f", legacy, "legacy")) == " \n"  # not on the bridge
    ok(d.cli("network", "connect", "bridge", "legacy"))
    bridge_ip = ok(d.cli("inspect", "-f", "{{.NetworkSettings.Networks.bridge.IPAddress}}",
                         "legacy")).strip()
    assert bridge_ip.startswith("172.17.")
    assert ok(d.cli("inspect", "-f", legacy, "legacy")) == f"{bridge_ip} 172.17.0.1\n"
    ok(d.cli("network", "disconnect", "own", "legacy"))
    assert ok(d.cli("inspect", "-f", legacy, "legacy")) == f"{bridge_ip} 172.17.0.1\n"


def test_host_gateway_names_the_host_from_any_network(busybox: Daemon) -> None:
    from tests.integration.hosts import http_server

    d = busybox
    ok(d.cli("network", "create", "--subnet", "10.80.0.0/24", "apart"))
    hosts = ok(d.cli("run", "--rm", "--network", "apart", "--add-host", "gw:host-gateway",
                     "busybox", "grep", "gw", "/etc/hosts"))
    assert hosts == "172.17.0.1\tgw\n"  # the default bridge's gateway, as dockerd's default
    with http_server(d.host.netns, port=8099, body="from the host"):
        fetched = ok(d.cli("run", "--rm", "--network", "apart", "--add-host",
                           "gw:host-gateway", "busybox", "wget", "-qO-", "http://gw:8099/"))
    assert fetched == "from the host"
