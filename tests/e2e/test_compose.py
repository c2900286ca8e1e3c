"""``dockyard compose`` against a real daemon: busybox projects brought up and torn down.

Each test imports busybox into a fresh daemon (its own host namespace) and drives
``dockyard compose`` as a user would, with ``DOCKER_HOST`` naming that daemon.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.daemon import DOCKYARD, Daemon, ok

ROOT = Path(__file__).resolve().parents[2]
Compose = Callable[..., subprocess.CompletedProcess[str]]

pytestmark = pytest.mark.skipif(shutil.which("nsenter") is None, reason="needs nsenter")


def _containers_work(daemon: Daemon) -> str | None:
    """None when the daemon can create containers; else why not (the skip reason)."""
    status, doc = daemon.api("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"]},
                             query={"name": "probe"})
    if status in (404, 501) and "image" not in json.dumps(doc).lower():
        return f"the daemon's container endpoints are not there yet ({status}: {doc})"
    if status != 201:
        return None  # some other answer: let the test show it
    daemon.api("DELETE", "/containers/probe", query={"force": "1"})
    return None


@pytest.fixture
def compose(daemon: Daemon, busybox_tar: str, tmp_path: Path) -> Compose:
    ok(daemon.cli("import", "-c", 'CMD ["sh"]', busybox_tar, "busybox"))
    reason = _containers_work(daemon)
    if reason:
        pytest.skip(reason)
    env = dict(os.environ, DOCKER_HOST=daemon.url)
    env.pop("COMPOSE_PROJECT_NAME", None)

    def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([DOCKYARD, "compose", *args], capture_output=True, text=True,
                              timeout=timeout, env=env, cwd=tmp_path)

    return run


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "compose.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def container_ip(daemon: Daemon, name: str, network: str) -> str:
    status, doc = daemon.api("GET", f"/containers/{name}/json")
    assert status == 200, doc
    assert isinstance(doc, dict)
    return str(doc["NetworkSettings"]["Networks"][network]["IPAddress"])


def has_embedded_dns(compose: Compose, service: str) -> bool:
    result = compose("exec", "-T", service, "cat", "/etc/resolv.conf")
    return result.returncode == 0 and "127.0.0.11" in result.stdout


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


# init: true in these projects: a command that is PID 1 ignores SIGTERM, and each `down`
# would wait out the 10 s grace period (as Docker's does).
TWO_NETWORKS = """
name: p
services:
  web:
    image: busybox
    init: true
    command: ["sleep", "3600"]
    networks: [front]
    deploy: {replicas: 2}
  db:
    image: busybox
    init: true
    command: ["sleep", "3600"]
    networks: [back]
  both:
    image: busybox
    init: true
    command: ["sleep", "3600"]
    networks:
      front: {aliases: [gateway]}
      back: {}
networks:
  front: {}
  back:
    ipam: {config: [{subnet: 172.31.5.0/24}]}
"""


def test_service_on_two_networks_and_an_alias_shared_by_replicas(
        daemon: Daemon, compose: Compose, tmp_path: Path) -> None:
    write(tmp_path, TWO_NETWORKS)
    ok(compose("up", "-d"))
    try:
        ps = ok(compose("ps", "--format", "json"))
        names = sorted(json.loads(line)["Name"] for line in ps.splitlines())
        assert names == ["p-both-1", "p-db-1", "p-web-1", "p-web-2"]
        assert container_ip(daemon, "p-db-1", "p_back").startswith("172.31.5.")
        assert container_ip(daemon, "p-both-1", "p_back").startswith("172.31.5.")
        assert container_ip(daemon, "p-both-1", "p_front")
        # re-running up on the unchanged project changes nothing
        again = ok(compose("up", "-d"))
        assert "Created" not in again and "Recreate" not in again
        if not has_embedded_dns(compose, "both"):
            pytest.skip("the daemon does not serve the embedded DNS (127.0.0.11) yet")
        web_ips = {container_ip(daemon, f"p-web-{n}", "p_front") for n in (1, 2)}
        answer = ok(compose("exec", "-T", "both", "nslookup", "web"))
        assert web_ips <= set(answer.split()), answer  # every replica answers to "web"
        # round robin: successive answers lead with different replicas
        firsts = set()
        for _ in range(4):
            words = ok(compose("exec", "-T", "both", "nslookup", "web")).split()
            firsts.add(next(w for w in words if w in web_ips))
        assert firsts == web_ips
        assert container_ip(daemon, "p-db-1", "p_back") in ok(
            compose("exec", "-T", "both", "nslookup", "db"))
        # db shares no network with web: the name does not resolve there
        assert compose("exec", "-T", "db", "nslookup", "web").returncode != 0
    finally:
        ok(compose("down"))


def test_depends_on_service_healthy_starts_the_dependent_after(
        compose: Compose, tmp_path: Path) -> None:
    write(tmp_path, """
        name: h
        services:
          db:
            image: busybox
            init: true
            command: ["sh", "-c", "sleep 1; touch /shared/ready; exec sleep 3600"]
            volumes: [shared:/shared]
            healthcheck:
              test: ["CMD", "test", "-f", "/shared/ready"]
              interval: 200ms
              retries: 50
          app:
            image: busybox
            init: true
            command:
              - sh
              - -c
              - test -f /shared/ready && echo saw-ready || echo too-early; exec sleep 3600
            volumes: [shared:/shared]
            depends_on:
              db: {condition: service_healthy}
        volumes:
          shared: {}
        """)
    result = compose("up", "-d")
    try:
        assert result.returncode == 0, result.stderr
        err = result.stderr
        assert err.index("h-db-1  Healthy") < err.index("h-app-1  Creating")
        assert "does not run healthchecks" not in err  # the daemon's health, no fallback
        wait_for(lambda: "saw-ready" in compose("logs", "app").stdout
                 or "too-early" in compose("logs", "app").stdout, "app's output")
        assert "app-1  | saw-ready" in ok(compose("logs", "app"))
    finally:
        ok(compose("down", "-v"))


def test_hello_example_published_port_and_service_name(
        daemon: Daemon, compose: Compose) -> None:
    example = str(ROOT / "examples" / "hello" / "compose.yaml")
    ok(compose("-f", example, "up", "-d"))
    try:
        def fetch() -> subprocess.CompletedProcess[str]:
            return daemon.host.run(["busybox", "wget", "-qO-", "http://127.0.0.1:8080/"])

        wait_for(lambda: fetch().returncode == 0, "the published port to answer")
        assert fetch().stdout.startswith("hello from ")
        if has_embedded_dns(compose, "client"):
            wait_for(lambda: "hello from" in compose("-f", example, "logs", "client").stdout,
                     "client to fetch web by name")
    finally:
        ok(compose("-f", example, "down", "-v"))


def _snapshot(daemon: Daemon) -> dict[str, object]:
    """What the host shows of the engine: interfaces, nftables, store rows, API objects."""
    links = daemon.host.run(["ip", "-o", "link", "show"]).stdout
    ruleset = daemon.host.run(["nft", "list", "ruleset"]).stdout
    db = sqlite3.connect(f"file:{os.path.join(daemon.host.root, 'dockyard.db')}?mode=ro",
                         uri=True)
    try:
        rows = sorted(db.execute("SELECT kind, key FROM objects").fetchall())
    finally:
        db.close()
    _, networks = daemon.api("GET", "/networks")
    _, volumes = daemon.api("GET", "/volumes")
    _, containers = daemon.api("GET", "/containers/json", query={"all": "1"})
    assert isinstance(networks, list) and isinstance(volumes, dict)
    return {
        "links": sorted(line.split(":")[1].strip().split("@")[0]
                        for line in links.splitlines()),
        "nft": ruleset,
        "rows": rows,
        "networks": sorted(n["Name"] for n in networks),
        "volumes": sorted(v["Name"] for v in volumes.get("Volumes") or []),
        "containers": containers,
    }


def test_down_v_leaves_nothing_behind(daemon: Daemon, compose: Compose,
                                      tmp_path: Path) -> None:
    write(tmp_path, """
        name: gone
        services:
          web:
            image: busybox
            init: true
            command: ["httpd", "-f", "-p", "80"]
            ports: ["8081:80", "9090"]
            volumes: [data:/data, /anonymous]
            networks: [a, b]
        networks: {a: {}, b: {}}
        volumes: {data: {}}
        """)
    before = _snapshot(daemon)
    ok(compose("up", "-d"))
    during = _snapshot(daemon)
    assert "gone_a" in str(during["networks"]) and "gone_data" in str(during["volumes"])
    assert during["links"] != before["links"]
    ok(compose("down", "-v"))
    # The engine unregisters devices in the background after a removal answers; wait for
    # that, then everything must be as before up.
    try:
        wait_for(lambda: _snapshot(daemon) == before, "the host to be as before up", 10)
    except AssertionError:
        assert _snapshot(daemon) == before


def test_attached_up_run_rm_and_ls(daemon: Daemon, compose: Compose, tmp_path: Path) -> None:
    write(tmp_path, """
        name: att
        services:
          say:
            image: busybox
            command: ["sh", "-c", "echo hi; echo there; exit 3"]
        """)
    try:
        attached = compose("up", timeout=60)
        assert attached.returncode == 0, attached.stderr
        lines = attached.stdout.splitlines()
        assert lines[0] == "Attaching to say-1"
        assert "say-1  | hi" in lines and "say-1  | there" in lines
        assert lines[-1] == "say-1 exited with code 3"
        assert ok(compose("ls", "-a")).splitlines()[1].split()[:2] == ["att", "exited(1)"]
        one_off = compose("run", "--rm", "say", "sh", "-c", "echo once; exit 4")
        assert (one_off.returncode, one_off.stdout) == (4, "once\n"), one_off.stderr
        ps = ok(compose("ps", "-a", "--format", "json"))
        assert [json.loads(line)["Name"] for line in ps.splitlines()] == ["att-say-1"]
    finally:
        ok(compose("down"))


def test_ctrl_c_stops_an_attached_up(daemon: Daemon, compose: Compose, tmp_path: Path) -> None:
    write(tmp_path, """
        name: intr
        services:
          loop:
            image: busybox
            command: ["sh", "-c", "echo started; exec sleep 3600"]
            stop_grace_period: 1s
        """)
    env = dict(os.environ, DOCKER_HOST=daemon.url)
    proc = subprocess.Popen([DOCKYARD, "compose", "up"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("loop-1  | started"):
                break
        proc.send_signal(2)  # what Ctrl-C sends
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130
        assert "Gracefully stopping..." in err
        state = json.loads(ok(compose("ps", "-a", "--format", "json")))["State"]
        assert state == "exited"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        ok(compose("down"))
