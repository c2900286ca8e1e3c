"""What a container sees of the network, probed by the daemon from inside its namespace
(``POST /containers/{id}/dockyard-probe``), and ``compose plan --verify``, which holds the
plan's reachability matrix against those probes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.daemon import Daemon, ok

pytestmark = pytest.mark.root


def probe(d: Daemon, container: str, body: dict[str, object]) -> tuple[int, object]:
    return d.api("POST", f"/containers/{container}/dockyard-probe", body)


def test_probe_resolves_scoped_names_and_pings_through_the_firewall(busybox: Daemon) -> None:
    d = busybox
    for net in ("front", "back"):
        ok(d.cli("network", "create", net))
    ok(d.cli("run", "-d", "--name", "web", "--network", "front", "busybox", "sleep", "60"))
    ok(d.cli("network", "connect", "back", "web"))
    ok(d.cli("run", "-d", "--name", "db", "--network", "back", "--network-alias", "store",
             "busybox", "sleep", "60"))
    ok(d.cli("run", "-d", "--name", "proxy", "--network", "front", "busybox", "sleep", "60"))
    db_ip = ok(d.cli("inspect", "-f", "{{.NetworkSettings.Networks.back.IPAddress}}",
                     "db")).strip()
    status, answer = probe(d, "web", {"Name": "store"})
    assert status == 200
    assert answer == {"Name": "store", "Addresses": [db_ip], "Reached": [db_ip]}
    # proxy shares no network with db: its name is not in proxy's DNS, and its address,
    # routed out through proxy's gateway, is dropped between the two bridges
    assert probe(d, "proxy", {"Name": "db"})[1] == {"Name": "db", "Addresses": [],
                                                    "Reached": []}
    assert probe(d, "proxy", {"Address": db_ip})[1] == {"Name": "", "Addresses": [db_ip],
                                                       "Reached": []}
    # the host's namespace (network_mode host) has no embedded DNS, and reaches the bridge
    ok(d.cli("run", "-d", "--name", "hosted", "--network", "host", "busybox", "sleep", "60"))
    assert probe(d, "hosted", {"Name": "db"})[1]["Addresses"] == []  # type: ignore[index]
    assert probe(d, "hosted", {"Address": db_ip})[1]["Reached"] == [db_ip]  # type: ignore[index]

    assert probe(d, "web", {})[0] == 400
    bad = probe(d, "web", {"Address": "not-an-ip"})
    assert bad == (400, {"message": 'probe: invalid Address "not-an-ip"'})
    assert probe(d, "web", {"Name": "db", "Timeout": 60})[0] == 400
    assert probe(d, "nobody", {"Name": "db"})[0] == 404
    ok(d.cli("stop", "-t", "0", "proxy"))
    assert probe(d, "proxy", {"Name": "web"})[0] == 409


COMPOSE = """\
services:
  proxy: {image: busybox, command: sleep 60, networks: [front], ports: ["8091:80"]}
  web: {image: busybox, command: sleep 60, networks: [front, back]}
  db: {image: busybox, command: sleep 60, networks: [back]}
  tool: {image: busybox, command: sleep 60, network_mode: host}
networks:
  front: {}
  back: {internal: true}
"""


def test_compose_plan_verify_holds_the_plan_against_the_network(busybox: Daemon,
                                                                tmp_path: Path) -> None:
    d = busybox
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    compose = ("compose", "-f", str(tmp_path / "compose.yaml"), "-p", "vp")
    ok(d.cli(*compose, "up", "-d"))
    try:
        verified = d.cli(*compose, "plan", "--verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        table = verified.stdout.split("VERIFIED", 1)[1]
        assert "6 of 6 probed pairs agree with the plan" in table
        rows = {" ".join(line.split()[:3]): line.split()[3:5]
                for line in table.splitlines() if " -> " in line}
        assert rows["web -> db"] == ["reachable", "reachable"]
        assert rows["proxy -> db"] == ["unreachable", "unreachable"]
        assert rows["tool -> web"] == ["-", "-"]  # network_mode host: not probed
        # the network no longer does what the plan says: --verify says where
        ok(d.cli("network", "disconnect", "vp_back", "vp-web-1"))
        differs = d.cli(*compose, "plan", "--verify")
        assert differs.returncode == 1
        assert "2 differ" in differs.stdout
        assert any(line.split()[:3] == ["web", "->", "db"] and "DIFFERS" in line
                   for line in differs.stdout.splitlines())
    finally:
        ok(d.cli(*compose, "down"))
