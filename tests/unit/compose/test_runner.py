"""The compose commands against an in-memory engine that answers as the Engine API does."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from dockyard.compose.backend import ComposeBackend, LogChunk
from dockyard.compose.cli import main
from dockyard.errors import Conflict, NotFound, NotImplementedKind

from .conftest import Write


class FakeEngine:
    """Containers, networks and volumes as dicts shaped like the API's JSON. ``calls``
    records every change in order; ``health`` scripts what inspect reports."""

    def __init__(self) -> None:
        self.containers_: dict[str, dict[str, Any]] = {}
        self.networks_: dict[str, dict[str, Any]] = {}
        self.volumes_: dict[str, dict[str, Any]] = {}
        self.images = {"busybox"}
        self.calls: list[str] = []
        self.health: dict[str, list[str]] = {}  # container name → statuses, one per inspect
        self.exit_codes: dict[str, int] = {}
        self.output: dict[str, bytes] = {}
        self.exec_codes: list[int] = []  # exit codes of the next execs (then 3)
        self.refuse_healthchecks = False  # answer as a daemon without healthchecks
        self._next = 0

    def _find(self, ref: str) -> dict[str, Any]:
        for doc in self.containers_.values():
            if ref in (doc["Id"], doc["Names"][0][1:]):
                return doc
        raise NotFound(f"No such container: {ref}")

    def containers(self, project: str | None) -> list[dict[str, Any]]:
        return [d for d in self.containers_.values()
                if "com.docker.compose.project" in d["Labels"]
                and project in (None, d["Labels"]["com.docker.compose.project"])]

    def inspect_container(self, ref: str) -> dict[str, Any]:
        doc = self._find(ref)
        name = doc["Names"][0][1:]
        state: dict[str, Any] = {"Status": doc["State"], "Running": doc["State"] == "running",
                                 "ExitCode": self.exit_codes.get(name, 0)}
        script = self.health.get(name)
        if script:
            state["Health"] = {"Status": script.pop(0) if len(script) > 1 else script[0]}
            if state["Health"]["Status"] == "exited":
                state["Status"], state["Running"] = "exited", False
                del state["Health"]
        return {"Id": doc["Id"], "Name": doc["Names"][0], "State": state,
                "Config": {"Labels": doc["Labels"]}}

    def create_container(self, name: str, body: Mapping[str, Any]) -> str:
        if any(d["Names"][0] == "/" + name for d in self.containers_.values()):
            raise Conflict(f'The container name "/{name}" is already in use')
        if self.refuse_healthchecks and "Healthcheck" in body:
            raise NotImplementedKind("healthchecks are not supported by this daemon yet")
        if body["Image"] not in self.images:
            raise NotFound(f"No such image: {body['Image']}")
        self._next += 1
        cid = f"{self._next:064x}"
        self.containers_[cid] = {"Id": cid, "Names": ["/" + name], "Image": body["Image"],
                                 "Command": " ".join(body.get("Cmd") or []), "Created": 0,
                                 "State": "created", "Status": "Created",
                                 "Labels": dict(body["Labels"]), "Ports": [], "Body": body}
        self.calls.append(f"create {name}")
        return cid

    def _set(self, ref: str, state: str, call: str) -> None:
        doc = self._find(ref)
        doc["State"] = state
        self.calls.append(f"{call} {doc['Names'][0][1:]}")

    def start_container(self, ref: str) -> None:
        self._set(ref, "running", "start")

    def stop_container(self, ref: str, timeout: int | None = None) -> None:
        self._set(ref, "exited", "stop")

    def restart_container(self, ref: str, timeout: int | None = None) -> None:
        self._set(ref, "running", "restart")

    def kill_container(self, ref: str, signal: str = "SIGKILL") -> None:
        self._set(ref, "exited", "kill")

    def remove_container(self, ref: str, *, force: bool = False, volumes: bool = False) -> None:
        doc = self._find(ref)
        del self.containers_[doc["Id"]]
        self.calls.append(f"remove {doc['Names'][0][1:]}")

    def wait_container(self, ref: str) -> int:
        doc = self._find(ref)
        doc["State"] = "exited"
        return self.exit_codes.get(doc["Names"][0][1:], 0)

    def logs(self, ref: str, *, follow: bool = False, tail: str | None = None,
             timestamps: bool = False) -> Iterator[LogChunk]:
        doc = self._find(ref)
        data = self.output.get(doc["Names"][0][1:], b"")
        if follow:
            doc["State"] = "exited"  # the stream ends when the container does
        yield from (("stdout", data[i:i + 3]) for i in range(0, len(data), 3))

    def exec(self, ref: str, body: Mapping[str, Any]) -> tuple[Iterator[LogChunk], str]:
        doc = self._find(ref)
        self.calls.append(f"exec {doc['Names'][0][1:]} {' '.join(body['Cmd'])}")
        return iter([("stdout", b"hi\n"), ("stderr", b"oops\n")]), "exec1"

    def exec_exit_code(self, exec_id: str) -> int:
        return self.exec_codes.pop(0) if self.exec_codes else 3

    def networks(self) -> list[dict[str, Any]]:
        return list(self.networks_.values())

    def create_network(self, body: Mapping[str, Any]) -> str:
        self.networks_[body["Name"]] = {"Name": body["Name"], "Labels": body["Labels"],
                                        "Body": body}
        self.calls.append(f"network {body['Name']}")
        return str(body["Name"])

    def remove_network(self, ref: str) -> None:
        del self.networks_[ref]
        self.calls.append(f"rmnet {ref}")

    def volumes(self) -> list[dict[str, Any]]:
        return list(self.volumes_.values())

    def create_volume(self, body: Mapping[str, Any]) -> None:
        self.volumes_[body["Name"]] = {"Name": body["Name"], "Labels": body["Labels"]}
        self.calls.append(f"volume {body['Name']}")

    def remove_volume(self, name: str) -> None:
        del self.volumes_[name]
        self.calls.append(f"rmvol {name}")

    def probe(self, container: str, name: str) -> dict[str, Any]:
        self.calls.append(f"probe {container} {name}")
        return {"Addresses": [], "Reached": []}

    def build_image(self, tag: str, build: Any, out: Any, *, no_cache: bool = False) -> None:
        self.calls.append(f"build {tag}{' target ' + build.target if build.target else ''}"
                          f"{' no-cache' if no_cache else ''}")
        self.images.add(tag)

    def image_exists(self, ref: str) -> bool:
        return ref in self.images


def _typed(engine: FakeEngine) -> ComposeBackend:
    return engine  # mypy checks that FakeEngine satisfies the protocol


Compose = Callable[..., tuple[int, str, str]]


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def compose(engine: FakeEngine, tmp_path: Path) -> Compose:
    """``dockyard compose -p p <args>`` on tmp_path's compose.yaml, against ``engine``."""

    def run(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(["-f", str(tmp_path / "compose.yaml"), "-p", "p", *argv], environ={},
                    stdout=out, stderr=err, backend=lambda host: _typed(engine))
        return code, out.getvalue(), err.getvalue()

    return run


TWO_NETS = """
services:
  db:
    image: busybox
    volumes: [data:/data, /anon]
    healthcheck: {test: ["CMD", "true"], interval: 1s}
    networks: [back]
  web:
    image: busybox
    ports: ["8080:80", "9000"]
    depends_on: {db: {condition: service_healthy}}
    networks:
      front: {aliases: [www], priority: 10}
      back: {ipv4_address: 172.30.0.9}
networks:
  front: {}
  back:
    ipam: {config: [{subnet: 172.30.0.0/24}]}
volumes:
  data: {}
"""


def test_up_creates_networks_volumes_then_services_in_order(
        write: Write, compose: Compose, engine: FakeEngine) -> None:
    write("compose.yaml", TWO_NETS)
    engine.health["p-db-1"] = ["starting", "healthy"]
    code, _, err = compose("up", "-d")
    assert code == 0, err
    # the network with a subnet first (as plan shows), then volumes, db healthy, then web
    assert engine.calls == ["network p_back", "network p_front", "volume p_data",
                            "create p-db-1", "start p-db-1", "create p-web-1", "start p-web-1"]
    assert " Container p-db-1  Healthy" in err
    web = engine._find("p-web-1")["Body"]
    endpoints = web["NetworkingConfig"]["EndpointsConfig"]
    assert web["HostConfig"]["NetworkMode"] == "p_front"  # priority 10 connects first
    assert endpoints["p_front"]["Aliases"] == ["web", "www"]
    assert endpoints["p_back"] == {"Aliases": ["web"],
                                   "IPAMConfig": {"IPv4Address": "172.30.0.9"}}
    assert web["HostConfig"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "", "HostPort": "8080"}],
        "9000/tcp": [{"HostIp": "", "HostPort": ""}]}
    db = engine._find("p-db-1")["Body"]
    assert db["HostConfig"]["Mounts"] == [
        {"Type": "volume", "Target": "/data", "Source": "p_data"},
        {"Type": "volume", "Target": "/anon"}]
    labels = web["Labels"]
    assert labels["com.docker.compose.project"] == "p"
    assert labels["com.docker.compose.service"] == "web"
    assert labels["com.docker.compose.container-number"] == "1"
    assert labels["com.docker.compose.oneoff"] == "False"
    assert engine.networks_["p_back"]["Labels"]["com.docker.compose.network"] == "back"
    assert engine.networks_["p_back"]["Body"]["IPAM"]["Config"] == [{"Subnet": "172.30.0.0/24"}]


def test_second_up_changes_nothing_and_a_changed_service_alone_is_recreated(
        write: Write, compose: Compose, engine: FakeEngine) -> None:
    write("compose.yaml", "services:\n  a: {image: busybox}\n  b: {image: busybox}\n")
    assert compose("up", "-d")[0] == 0
    engine.calls.clear()
    code, _, err = compose("up", "-d")
    assert code == 0 and engine.calls == []
    assert " Container p-a-1  Running" in err
    write("compose.yaml", "services:\n  a: {image: busybox}\n"
          "  b: {image: busybox, environment: [X=1]}\n")
    assert compose("up", "-d")[0] == 0
    assert engine.calls == ["stop p-b-1", "remove p-b-1", "create p-b-1", "start p-b-1"]


def test_scale_and_orphans(write: Write, compose: Compose, engine: FakeEngine) -> None:
    write("compose.yaml", "services:\n  a: {image: busybox}\n  b: {image: busybox}\n")
    assert compose("up", "-d", "--scale", "a=3")[0] == 0
    assert sorted(d["Names"][0] for d in engine.containers_.values()) == [
        "/p-a-1", "/p-a-2", "/p-a-3", "/p-b-1"]
    write("compose.yaml", "services:\n  a: {image: busybox}\n")
    engine.calls.clear()
    code, _, err = compose("up", "-d")
    assert code == 0
    assert "Found orphan containers ([p-b-1])" in err
    assert engine.calls == ["stop p-a-3", "remove p-a-3", "stop p-a-2", "remove p-a-2"]
    engine.calls.clear()
    assert compose("up", "-d", "--remove-orphans")[0] == 0
    assert engine.calls == ["stop p-b-1", "remove p-b-1"]


def test_unhealthy_dependency_stops_up_before_the_dependent(
        write: Write, compose: Compose, engine: FakeEngine) -> None:
    write("compose.yaml", TWO_NETS)
    engine.health["p-db-1"] = ["starting", "unhealthy"]
    code, _, err = compose("up", "-d")
    assert code == 1
    assert "dependency failed to start: container p-db-1 is unhealthy" in err
    assert "create p-web-1" not in engine.calls


def test_completed_successfully_waits_for_exit_and_checks_its_code(
        write: Write, compose: Compose, engine: FakeEngine) -> None:
    write("compose.yaml", """
        services:
          init: {image: busybox, command: "true"}
          app:
            image: busybox
            depends_on: {init: {condition: service_completed_successfully}}
        """)
    engine.health["p-init-1"] = ["exited"]
    engine.exit_codes["p-init-1"] = 2
    code, _, err = compose("up", "-d")
    assert code == 1 and 'service "init" didn\'t complete successfully: exit 2' in err
    engine.exit_codes["p-init-1"] = 0
    assert compose("up", "-d")[0] == 0
    assert "create p-app-1" in engine.calls


def test_a_build_section_builds_a_missing_image_once(
        write: Write, compose: Compose, engine: FakeEngine) -> None:
    write("compose.yaml", "services:\n  app: {build: ., image: myapp}\n"
                          "  worker: {build: {context: ., target: w}}\n")
    code, _, err = compose("up", "-d")
    assert code == 0, err
    builds = [c for c in engine.calls if c.startswith("build")]
    assert builds == ["build myapp", "build p-worker target w"]
    assert "Service app  Built" in err
    assert "create p-worker-1" in engine.calls  # with the image it was built as
    engine.calls.clear()
    assert compose("up", "-d")[0] == 0
    assert not [c for c in engine.calls if c.startswith("build")]  # there now: not again
    assert compose("up", "-d", "--build")[0] == 0
    assert compose("build", "--no-cache", "app")[0] == 0
    assert [c for c in engine.calls if c.startswith("build")] == [
        "build myapp", "build p-worker target w", "build myapp no-cache"]


def test_missing_image_names_the_service(write: Write, compose: Compose) -> None:
    write("compose.yaml", "services:\n  app: {image: nginx}\n")
    code, _, err = compose("up", "-d")
    assert code == 1 and 'service "app": image "nginx" is not in the image store' in err


def test_network_mode_and_links_name_the_other_service_container(
        write: Write, compose: Compose, engine: FakeEngine) -> None:
    write("compose.yaml", """
        services:
          db: {image: busybox}
          side: {image: busybox, network_mode: "service:db"}
          app: {image: busybox, links: ["db:database"], network_mode: none}
        """)
    assert compose("up", "-d")[0] == 0
    side = engine._find("p-side-1")["Body"]
    assert side["HostConfig"]["NetworkMode"] == "container:p-db-1"
    assert side["NetworkingConfig"] == {"EndpointsConfig": {}}
    app = engine._find("p-app-1")["Body"]
    assert app["HostConfig"]["Links"] == ["p-db-1:database"]
    assert app["HostConfig"]["NetworkMode"] == "none"
    assert list(engine.networks_) == ["p_default"]  # used by db only


def test_down_with_volumes_leaves_nothing(write: Write, compose: Compose,
                                          engine: FakeEngine) -> None:
    write("compose.yaml", TWO_NETS)
    engine.health["p-db-1"] = ["healthy"]
    assert compose("up", "-d")[0] == 0
    assert compose("run", "--name", "one", "db", "true")[0] == 0  # a one-off, kept
    code, _, err = compose("down", "-v")
    assert code == 0, err
    assert engine.containers_ == {} and engine.networks_ == {} and engine.volumes_ == {}
    # dependents first, one-offs too; then networks (reverse creation order), then volumes
    assert engine.calls.index("remove p-web-1") < engine.calls.index("remove p-db-1")
    assert "remove one" in engine.calls
    assert engine.calls[-3:] == ["rmnet p_front", "rmnet p_back", "rmvol p_data"]


def test_stop_restart_and_down_take_each_wave_of_containers_at_once(
        write: Write, compose: Compose, engine: FakeEngine) -> None:
    """Without an init a stop may take its whole grace period: the containers nothing
    depends on stop together, then what they depended on (restart: the other way)."""
    write("compose.yaml", """
        services:
          db: {image: busybox}
          web: {image: busybox, depends_on: [db], deploy: {replicas: 2}}
          side: {image: busybox}
        """)
    assert compose("up", "-d")[0] == 0
    original = engine.stop_container

    def stopping_together(barrier: threading.Barrier) -> Callable[..., None]:
        def stop(ref: str, timeout: int | None = None) -> None:
            if engine._find(ref)["Names"][0][1:] != "p-db-1":
                barrier.wait()  # broken (an error) if they came one after another
            original(ref, timeout)
        return stop

    original_restart = engine.restart_container

    def restarting_together(ref: str, timeout: int | None = None) -> None:
        if engine._find(ref)["Names"][0][1:] != "p-db-1":
            together.wait()
        original_restart(ref, timeout)

    together = threading.Barrier(3, timeout=5)
    engine.restart_container = restarting_together  # type: ignore[method-assign]
    engine.calls.clear()
    code, _, err = compose("restart")
    assert code == 0, err
    # restart goes the other way: what the others depend on first
    assert engine.calls[0] == "restart p-db-1"
    assert sorted(engine.calls[1:]) == ["restart p-side-1", "restart p-web-1",
                                        "restart p-web-2"]
    engine.calls.clear()
    for command in ("stop", "down"):
        engine.stop_container = stopping_together(  # type: ignore[method-assign]
            threading.Barrier(3, timeout=5))
        code, _, err = compose(command)
        assert code == 0, err
        stops = [call for call in engine.calls if call.startswith("stop ")][-4:]
        assert stops[-1] == "stop p-db-1"  # after everything that depends on it
        assert sorted(stops[:3]) == ["stop p-side-1", "stop p-web-1", "stop p-web-2"]
        engine.calls.clear()


def test_down_keeps_volumes_without_v_and_external_networks_always(
        write: Write, compose: Compose, engine: FakeEngine) -> None:
    write("compose.yaml", """
        services:
          a: {image: busybox, volumes: ["v:/v"], networks: [ext]}
        networks:
          ext: {external: true, name: shared}
        volumes: {v: {}}
        """)
    code, _, err = compose("up", "-d")
    assert code == 1 and 'network "shared" declared as external, but could not be found' in err
    engine.networks_["shared"] = {"Name": "shared", "Labels": {}}
    assert compose("up", "-d")[0] == 0
    assert compose("down")[0] == 0
    assert list(engine.networks_) == ["shared"] and list(engine.volumes_) == ["p_v"]


def test_attached_up_prefixes_each_line_and_reports_exits(
        write: Write, compose: Compose, engine: FakeEngine) -> None:
    write("compose.yaml", "services:\n  web: {image: busybox}\n  db: {image: busybox}\n")
    engine.output["p-web-1"] = b"hello\nworld\n"
    engine.output["p-db-1"] = b"ready"
    engine.exit_codes["p-web-1"] = 1
    code, out, _ = compose("up")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Attaching to db-1, web-1"
    assert "web-1  | hello" in lines and "web-1  | world" in lines
    assert "db-1   | ready" in lines
    assert "web-1 exited with code 1" in lines and "db-1 exited with code 0" in lines


def test_ps_ls_start_stop_restart(write: Write, compose: Compose,
                                  engine: FakeEngine) -> None:
    write("compose.yaml", "services:\n  web: {image: busybox, command: httpd -f}\n"
          "  db: {image: busybox}\n")
    assert compose("up", "-d")[0] == 0
    code, out, _ = compose("ps")
    assert code == 0
    assert out.splitlines()[0].split() == ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED",
                                           "STATUS", "PORTS"]
    assert "p-web-1" in out and '"httpd -f"' in out
    assert compose("ps", "--services")[1] == "db\nweb\n"
    engine.calls.clear()
    assert compose("stop", "web")[0] == 0
    assert engine.calls == ["stop p-web-1"]
    assert "p-web-1" not in compose("ps")[1] and "p-web-1" in compose("ps", "-a")[1]
    rows = [json.loads(line) for line in compose("ps", "-a", "--format", "json")[1].splitlines()]
    assert {(r["Service"], r["State"]) for r in rows} == {("web", "exited"), ("db", "running")}
    code, out, _ = compose("ls")
    assert out.splitlines()[1].split()[:2] == ["p", "exited(1),"]
    engine.calls.clear()
    # independent services stop at once
    assert compose("stop")[0] == 0 and sorted(engine.calls) == ["stop p-db-1", "stop p-web-1"]
    assert compose("ls")[1].splitlines()[1:] == [] and "p" in compose("ls", "-a", "-q")[1]
    engine.calls.clear()
    assert compose("start")[0] == 0 and engine.calls == ["start p-db-1", "start p-web-1"]
    engine.calls.clear()
    assert compose("restart", "db")[0] == 0 and engine.calls == ["restart p-db-1"]
    assert compose("stop", "nope")[0] == 1


def test_exec_and_logs(write: Write, compose: Compose, engine: FakeEngine) -> None:
    write("compose.yaml", "services:\n  web: {image: busybox}\n")
    code, _, err = compose("exec", "web", "ls", "-l")
    assert code == 1 and 'service "web" is not running' in err
    assert compose("up", "-d")[0] == 0
    code, out, err = compose("exec", "-T", "web", "ls", "-l")
    assert (code, out) == (3, "hi\n") and "oops" in err
    assert engine.calls[-1] == "exec p-web-1 ls -l"
    engine.output["p-web-1"] = b"line one\nline two\n"
    assert compose("logs")[1] == "web-1  | line one\nweb-1  | line two\n"
    assert compose("logs", "--no-log-prefix", "web")[1] == "line one\nline two\n"


def test_run_rm_is_a_one_off_removed_after(write: Write, compose: Compose,
                                           engine: FakeEngine) -> None:
    write("compose.yaml", "services:\n  db: {image: busybox}\n"
          "  tool: {image: busybox, depends_on: [db]}\n")
    engine.images.add("busybox")
    created: list[dict[str, Any]] = []
    original = engine.create_container

    def spy(name: str, body: Mapping[str, Any]) -> str:
        created.append({"name": name, **body})
        return original(name, body)

    engine.create_container = spy  # type: ignore[method-assign]
    code, _, _ = compose("run", "--rm", "-e", "X=1", "tool", "echo", "hi")
    assert code == 0
    one_off = created[-1]
    assert one_off["name"].startswith("p-tool-run-")
    assert one_off["Cmd"] == ["echo", "hi"] and "X=1" in one_off["Env"]
    assert one_off["Labels"]["com.docker.compose.oneoff"] == "True"
    assert one_off["NetworkingConfig"]["EndpointsConfig"]["p_default"]["Aliases"] == []
    assert [d["Names"][0] for d in engine.containers_.values()] == ["/p-db-1"]


def test_usage_and_unsupported_commands(compose: Compose) -> None:
    assert compose("up", "--scale", "web")[0] == 2
    code, _, err = compose("pause")
    assert code == 1 and "not implemented by Dockyard" in err


PROBED = """
services:
  db:
    image: busybox
    healthcheck: {test: "nc -z localhost 80", interval: 10ms, retries: 2}
  web:
    image: busybox
    depends_on: {db: {condition: service_healthy}}
"""


def test_engine_without_healthchecks_is_probed_through_exec(
        write: Write, compose: Compose, engine: FakeEngine) -> None:
    write("compose.yaml", PROBED)
    engine.refuse_healthchecks = True
    engine.exec_codes = [1, 0]  # fails once, then passes: healthy before retries run out
    code, _, err = compose("up", "-d")
    assert code == 0, err
    assert "does not run healthchecks" in err
    assert "Healthcheck" not in engine._find("p-db-1")["Body"]
    assert [c for c in engine.calls if not c.startswith("network")] == [
        "create p-db-1", "start p-db-1",
        "exec p-db-1 /bin/sh -c nc -z localhost 80", "exec p-db-1 /bin/sh -c nc -z localhost 80",
        "create p-web-1", "start p-web-1"]


def test_probe_failing_retries_times_is_unhealthy(
        write: Write, compose: Compose, engine: FakeEngine) -> None:
    write("compose.yaml", PROBED)
    engine.refuse_healthchecks = True
    engine.exec_codes = [1, 1, 0]
    code, _, err = compose("up", "-d")
    assert code == 1 and "container p-db-1 is unhealthy" in err
    assert "create p-web-1" not in engine.calls


def test_no_deps_force_recreate_and_wait(write: Write, compose: Compose,
                                         engine: FakeEngine) -> None:
    write("compose.yaml", PROBED)
    engine.health["p-db-1"] = ["healthy"]
    assert compose("up", "-d", "--no-deps", "web")[0] == 0
    assert [c for c in engine.calls if "p-db-1" in c] == []  # db is neither made nor awaited
    assert compose("up", "-d")[0] == 0
    assert "create p-db-1" in engine.calls
    engine.calls.clear()
    assert compose("up", "-d", "--no-deps", "--force-recreate", "web")[0] == 0
    assert engine.calls == ["stop p-web-1", "remove p-web-1", "create p-web-1", "start p-web-1"]
    engine.health["p-db-1"] = ["starting", "starting", "healthy"]
    code, _, err = compose("up", "--wait")
    assert code == 0 and " Container p-db-1  Healthy" in err
    engine.health["p-db-1"] = ["unhealthy"]
    code, _, err = compose("up", "--wait")
    assert code == 1 and "container p-db-1 is unhealthy" in err
