"""Our CLI against a daemon in its own host namespace: what a user types and sees."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import make_sandbox
from tests.e2e.daemon import Daemon, lines, ok
from tests.integration.hosts import wait_for

pytestmark = pytest.mark.root


def test_network_lifecycle_prints_what_docker_prints(daemon: Daemon) -> None:
    listed = lines(ok(daemon.cli("network", "ls")))
    assert listed[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert [row.split()[1] for row in listed[1:]] == ["bridge", "host", "none"]
    assert listed[0].index("NAME") == 15  # docker's tabwriter: 12-char id + 3 spaces

    network_id = ok(daemon.cli("network", "create", "--subnet", "10.77.0.0/24",
                               "--gateway", "10.77.0.254", "--ip-range", "10.77.0.128/25",
                               "--label", "team=web", "-o", "com.docker.network.driver.mtu=1400",
                               "front")).strip()
    assert len(network_id) == 64
    names = [row.split()[1] for row in lines(ok(daemon.cli("network", "ls")))[1:]]
    assert names == ["bridge", "front", "host", "none"]  # sorted by name, as docker does

    doc = json.loads(ok(daemon.cli("network", "inspect", "front")))[0]
    assert doc["Id"] == network_id
    assert doc["IPAM"]["Config"] == [{"Subnet": "10.77.0.0/24", "IPRange": "10.77.0.128/25",
                                      "Gateway": "10.77.0.254"}]
    assert doc["Labels"] == {"team": "web"}
    assert doc["Options"]["com.docker.network.driver.mtu"] == "1400"
    # The bridge exists in the daemon's host namespace, with the gateway address.
    addrs = daemon.host.run(["ip", "-o", "addr"]).stdout
    assert "10.77.0.254/24" in addrs

    assert ok(daemon.cli("network", "ls", "-q", "--filter", "label=team=web")).split() == [
        network_id[:12]]
    assert ok(daemon.cli("network", "ls", "--format", "{{.Name}}:{{.Driver}}",
                         "-f", "type=custom")) == "front:bridge\n"
    out = ok(daemon.cli("network", "inspect", "-f",
                        "{{.Name}} {{json .Labels}} {{range .IPAM.Config}}{{.Subnet}}{{end}}",
                        "front"))
    assert out == 'front {"team":"web"} 10.77.0.0/24\n'

    assert ok(daemon.cli("network", "rm", "front")) == "front\n"
    # The kernel finishes unregistering a deleted bridge a moment after netlink answers.
    wait_for(lambda: "10.77.0.254" not in daemon.host.run(["ip", "-o", "addr"]).stdout,
             what="the bridge to go")
    missing = daemon.cli("network", "rm", "front")
    assert missing.returncode == 1
    assert missing.stderr == (
        "Error response from daemon: network front not found\nexit status 1\n")


def test_connect_disconnect_and_inspect_containers(daemon: Daemon) -> None:
    ok(daemon.cli("network", "create", "--subnet", "10.78.0.0/24", "back"))
    box = make_sandbox(daemon, "db")
    ok(daemon.cli("network", "connect", "--alias", "database", "--ip", "10.78.0.9", "back",
                  "db"))
    doc = json.loads(ok(daemon.cli("network", "inspect", "back")))[0]
    entry = doc["Containers"][box.id]
    assert entry["Name"] == "db"
    assert entry["IPv4Address"] == "10.78.0.9/24"
    assert entry["MacAddress"]
    out = ok(daemon.cli("inspect", "-f",
                        "{{range $id, $c := .Containers}}{{$c.Name}}={{$c.IPv4Address}}{{end}}",
                        "back"))
    assert out == "db=10.78.0.9/24\n"

    again = daemon.cli("network", "connect", "back", "db")
    assert again.returncode == 1
    assert again.stderr.startswith("Error response from daemon: endpoint with name db already")
    busy = daemon.cli("network", "rm", "back")
    assert busy.returncode == 1 and "has active endpoints" in busy.stderr
    dangling = ok(daemon.cli("network", "ls", "-f", "dangling=true", "--format", "{{.Name}}"))
    assert "back" not in dangling

    ok(daemon.cli("network", "disconnect", "back", "db"))
    assert json.loads(ok(daemon.cli("network", "inspect", "back")))[0]["Containers"] == {}
    unknown = daemon.cli("network", "connect", "back", "nobody")
    assert (unknown.returncode, unknown.stderr) == (
        1, "Error response from daemon: No such container: nobody\n")


def test_prune_removes_only_unused_custom_networks(daemon: Daemon) -> None:
    for name in ("keep", "old1", "old2"):
        ok(daemon.cli("network", "create", name))
    make_sandbox(daemon, "user")
    ok(daemon.cli("network", "connect", "keep", "user"))
    out = ok(daemon.cli("network", "prune", "-f"))
    head, *deleted, blank = out.split("\n")[:-1]  # docker ends the list with a blank line
    assert (head, sorted(deleted), blank) == ("Deleted Networks:", ["old1", "old2"], "")
    names = {row.split()[1] for row in lines(ok(daemon.cli("network", "ls")))[1:]}
    assert names == {"bridge", "host", "none", "keep"}
    assert ok(daemon.cli("network", "prune", "-f")) == ""


def test_usage_errors_exit_like_docker(daemon: Daemon) -> None:
    # docker 28: a bad flag exits 125, a wrong number of arguments 1; both show the usage
    result = daemon.cli("network", "create", "--bogus", "x")
    assert result.returncode == 125
    assert result.stderr == ("unknown flag: --bogus\n\nUsage:  dockyard network create "
                             "[OPTIONS] NETWORK\n\nRun 'dockyard network create --help' for "
                             "more information\n")
    result = daemon.cli("network", "create")
    assert result.returncode == 1
    assert result.stderr.startswith("dockyard: 'dockyard network create' requires 1 argument\n")
    result = daemon.cli("network", "connect", "x")
    assert result.returncode == 1
    assert "requires 2 arguments" in result.stderr
    result = daemon.cli("network", "create", "--gateway", "10.1.0.1", "x")
    assert result.returncode == 1
    assert "every ip-range or gateway must have a corresponding subnet" in result.stderr


def test_images_import_list_tag_inspect_rm(daemon: Daemon, busybox_tar: str) -> None:
    out = ok(daemon.cli("import", "-c", 'CMD ["sh"]', "-c", "ENV A=1", busybox_tar,
                        "busybox:1"))
    image_id = out.strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71
    ok(daemon.cli("tag", "busybox:1", "busybox:latest"))
    rows = lines(ok(daemon.cli("images")))
    assert rows[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert sorted(r.split()[1] for r in rows[1:]) == ["1", "latest"]
    assert all(r.split()[2] == image_id[7:19] for r in rows[1:])
    assert ok(daemon.cli("image", "ls", "-q")) == image_id[7:19] + "\n"
    assert ok(daemon.cli("images", "--format", "{{.Repository}}:{{.Tag}}", "busybox:1")) == \
        "busybox:1\n"
    cfg = ok(daemon.cli("image", "inspect", "-f", "{{json .Config.Cmd}} {{.Config.Env}}",
                        "busybox"))
    assert cfg == '["sh"] [A=1]\n'
    assert json.loads(ok(daemon.cli("inspect", "busybox:1")))[0]["Id"] == image_id
    assert ok(daemon.cli("rmi", "busybox:1")) == "Untagged: busybox:1\n"
    out = ok(daemon.cli("image", "rm", "busybox"))
    assert out.splitlines()[:2] == ["Untagged: busybox:latest", f"Deleted: {image_id}"]
    gone = daemon.cli("image", "inspect", "busybox")
    assert (gone.returncode, gone.stdout.strip()) == (1, "[]")
    assert gone.stderr == "Error response from daemon: No such image: busybox\n"


def test_info_version_and_unknown_object(daemon: Daemon) -> None:
    info = ok(daemon.cli("info", "--format", "{{.Swarm.LocalNodeState}} {{.Images}}"))
    assert info == "inactive 0\n"
    version = ok(daemon.cli("version", "--format", "{{.Server.ApiVersion}}"))
    assert version == "1.50\n"
    result = daemon.cli("inspect", "nothing-here")
    assert result.returncode == 1
    assert result.stderr == "Error: No such object: nothing-here\n"


def test_run_on_several_networks_with_per_network_options(busybox: Daemon) -> None:
    d = busybox
    ok(d.cli("network", "create", "--subnet", "10.83.0.0/24", "front"))
    ok(d.cli("network", "create", "--subnet", "10.84.0.0/24", "back"))
    ok(d.cli("run", "-d", "--name", "both", "--network", "front", "--network",
             "name=back,alias=bee,ip=10.84.0.40", "busybox", "sleep", "300"))
    rows = ok(d.cli("exec", "both", "ip", "-o", "-4", "addr", "show")).splitlines()
    addresses = {row.split()[1]: row.split()[3] for row in rows}
    assert addresses == {"lo": "127.0.0.1/8", "eth0": "10.83.0.2/24", "eth1": "10.84.0.40/24"}
    peer = d.cli("run", "--rm", "--network", "back", "busybox", "nslookup", "bee")
    assert peer.returncode == 0 and "10.84.0.40" in peer.stdout


def test_gw_priority_picks_the_default_route_at_run_and_at_connect(busybox: Daemon) -> None:
    d = busybox
    for name, subnet in (("aaa", "10.85.0.0/24"), ("bbb", "10.86.0.0/24"),
                         ("ccc", "10.87.0.0/24")):
        ok(d.cli("network", "create", "--subnet", subnet, name))

    def default_via(container: str) -> str:
        return ok(d.cli("exec", container, "ip", "route", "show", "default")).split()[2]

    # By name "aaa" would win; its priority 0 loses to bbb's 5.
    ok(d.cli("run", "-d", "--name", "prio", "--network", "aaa", "--network",
             "name=bbb,gw-priority=5", "busybox", "sleep", "300"))
    assert default_via("prio") == "10.86.0.1"
    assert ok(d.cli("inspect", "-f", "{{.NetworkSettings.Networks.bbb.GwPriority}}", "prio")
              ) == "5\n"
    ok(d.cli("network", "connect", "--gw-priority", "9", "ccc", "prio"))
    assert default_via("prio") == "10.87.0.1"
    ok(d.cli("restart", "-t", "0", "prio"))  # kept across a restart
    assert default_via("prio") == "10.87.0.1"
