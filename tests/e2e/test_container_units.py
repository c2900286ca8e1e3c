"""The pure halves of containers over the API: CLI flags → create body → ContainerSpec,
and the list/ps views. No daemon needed."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.api.container_json import human_status, parse_create
from dockyard.api.streams import frame
from dockyard.cli.container import format_ports
from dockyard.cli.flags import UsageError, parse
from dockyard.cli.run_opts import (
    RUN_FLAGS,
    create_body,
    parse_publish,
    split_command,
    start_exit_code,
)
from dockyard.errors import InvalidParameter
from dockyard.runtime.health import HealthConfig


def body_for(*args: str, environ: dict[str, str] | None = None) -> dict[str, Any]:
    flags, command = split_command(list(args), RUN_FLAGS)
    opts, rest = parse(RUN_FLAGS, flags)
    return create_body(opts, rest[0], command, environ or {})


def test_flags_stop_at_the_image() -> None:
    assert split_command(["-d", "--name", "x", "-p8080:80", "busybox", "ls", "-l"],
                         RUN_FLAGS) == (["-d", "--name", "x", "-p8080:80", "busybox"],
                                        ["ls", "-l"])
    assert split_command(["-dit", "busybox", "sh"], RUN_FLAGS) == (["-dit", "busybox"],
                                                                   ["sh"])
    assert split_command(["--rm", "--", "busybox", "-x"], RUN_FLAGS) == (["--rm"],
                                                                         ["busybox", "-x"])


def test_run_flags_become_docker_create_body() -> None:
    body = body_for("--name", "web", "--network", "app", "--network-alias", "www",
                    "--ip", "10.0.0.5", "-p", "127.0.0.1:8080:80", "-p", "53/udp",
                    "--expose", "7000-7001", "-e", "A=1", "-e", "FROM_ENV", "-e", "MISSING",
                    "-v", "data:/data", "--mount", "type=tmpfs,target=/t,readonly",
                    "--restart", "on-failure:3", "--add-host", "db=10.0.0.9",
                    "--entrypoint", "", "-w", "/srv", "-u", "1000", "busybox", "echo", "hi",
                    environ={"FROM_ENV": "yes"})
    host = body["HostConfig"]
    assert body["Image"] == "busybox" and body["Cmd"] == ["echo", "hi"]
    assert body["Entrypoint"] == []
    assert body["Env"] == ["A=1", "FROM_ENV=yes"]
    assert set(body["ExposedPorts"]) == {"80/tcp", "53/udp", "7000/tcp", "7001/tcp"}
    assert host["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                                    "53/udp": [{"HostIp": "", "HostPort": ""}]}
    assert host["NetworkMode"] == "app"
    assert body["NetworkingConfig"] == {"EndpointsConfig": {"app": {
        "Aliases": ["www"], "IPAMConfig": {"IPv4Address": "10.0.0.5"}}}}
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert host["Mounts"] == [{"Type": "tmpfs", "Target": "/t", "ReadOnly": True}]
    assert host["ExtraHosts"] == ["db:10.0.0.9"]
    with pytest.raises(UsageError, match="--restart and --rm"):
        body_for("--rm", "--restart", "always", "busybox")


def test_several_networks_and_the_advanced_network_syntax() -> None:
    body = body_for("--network", "name=front,alias=a,alias=b,ip=10.0.0.5,mac-address="
                    "02:00:00:00:00:01,gw-priority=5", "--network", "back", "busybox")
    assert body["HostConfig"]["NetworkMode"] == "front"
    assert body["NetworkingConfig"]["EndpointsConfig"] == {
        "front": {"Aliases": ["a", "b"], "IPAMConfig": {"IPv4Address": "10.0.0.5"},
                  "MacAddress": "02:00:00:00:00:01", "GwPriority": 5},
        "back": {}}
    # The single-network flags belong to the first network.
    first = body_for("--network", "front", "--network", "back", "--network-alias", "w",
                     "--mac-address", "02:00:00:00:00:02", "busybox")
    assert first["NetworkingConfig"]["EndpointsConfig"] == {
        "front": {"Aliases": ["w"], "MacAddress": "02:00:00:00:00:02"}, "back": {}}
    assert body_for("--network", "front", "busybox")["NetworkingConfig"] == {
        "EndpointsConfig": {}}  # one network, no options: no endpoint config, as docker's
    for args, words in (
            (("--network", "name=f,alias=a", "--network-alias", "b"),
             "cannot specify both --network-alias and per-network alias"),
            (("--network", "f", "--network", "f"), 'network "f" is specified multiple times'),
            (("--network", "name=f,colour=red"), "invalid field key colour"),
            (("--network", "alias=a"), "network name missing")):
        with pytest.raises(UsageError, match=words):
            body_for(*args, "busybox")


def test_create_body_round_trips_into_a_container_spec() -> None:
    body = body_for("--name", "web", "--network", "app", "--network-alias", "www",
                    "--ip", "10.0.0.5", "-p", "[::1]:8080:80", "-P", "--link", "db:database",
                    "--dns", "10.0.0.2", "--rm", "busybox", "sleep", "1")
    body["HostConfig"]["Links"] = ["/db:/web/database"]  # the API's form, as docker sends
    req = parse_create(body, "web")
    spec = req.spec
    assert spec.name == "web" and spec.cmd == ("sleep", "1") and spec.entrypoint is None
    assert spec.network_mode == "app" and spec.aliases == ("www",)
    assert spec.ipv4 == "10.0.0.5"
    assert spec.publish == ("[::1]:8080:80/tcp",)
    assert spec.publish_all and spec.auto_remove
    assert spec.links == ("db:database",)
    assert spec.dns == ("10.0.0.2",)
    assert req.extra_networks == ()


def test_create_body_errors_name_the_field() -> None:
    with pytest.raises(InvalidParameter, match='"Env" must be an array'):
        parse_create({"Image": "busybox", "Env": "A=1"}, None)
    with pytest.raises(InvalidParameter, match=r"HostConfig\.AutoRemove"):
        parse_create({"Image": "busybox", "HostConfig": {"AutoRemove": "yes"}}, None)
    with pytest.raises(InvalidParameter, match="Image is required"):
        parse_create({}, None)
    check = parse_create({"Image": "busybox", "Healthcheck": {
        "Test": ["CMD", "true"], "Interval": 200_000_000, "Timeout": 10**9, "Retries": 2,
        "StartPeriod": 3 * 10**9, "StartInterval": 100_000_000}}, None).spec.healthcheck
    assert check == HealthConfig(("CMD", "true"), 200_000_000, 10**9, 2, 3 * 10**9,
                                 100_000_000)
    none = parse_create({"Image": "busybox", "Healthcheck": {"Test": ["NONE"]}}, None)
    assert none.spec.healthcheck is not None and none.spec.healthcheck.disabled
    assert parse_create({"Image": "busybox", "Healthcheck": None}, None).spec.healthcheck is None
    with pytest.raises(InvalidParameter, match="Interval in Healthcheck cannot be less"):
        parse_create({"Image": "busybox", "Healthcheck": {"Test": ["CMD", "true"],
                                                          "Interval": 1}}, None)
    with pytest.raises(InvalidParameter, match=r'"Healthcheck\.Retries" must be an integer'):
        parse_create({"Image": "busybox", "Healthcheck": {"Retries": "3"}}, None)


def test_health_flags_build_dockers_healthcheck() -> None:
    body = body_for("--health-cmd", "test -f /ready", "--health-interval", "200ms",
                    "--health-timeout", "1m30s", "--health-retries", "5",
                    "--health-start-period", "2s", "--health-start-interval=1.5s", "busybox")
    assert body["Healthcheck"] == {
        "Test": ["CMD-SHELL", "test -f /ready"], "Interval": 200_000_000,
        "Timeout": 90 * 10**9, "StartPeriod": 2 * 10**9, "StartInterval": 1_500_000_000,
        "Retries": 5}
    assert "Healthcheck" not in body_for("busybox")
    assert body_for("--no-healthcheck", "busybox")["Healthcheck"] == {"Test": ["NONE"]}
    # Timings alone keep the image's test (no Test sent).
    assert "Test" not in body_for("--health-interval", "1s", "busybox")["Healthcheck"]
    with pytest.raises(UsageError, match="--no-healthcheck conflicts with --health-"):
        body_for("--no-healthcheck", "--health-cmd", "true", "busybox")
    with pytest.raises(UsageError, match='time: invalid duration "5"'):
        body_for("--health-interval", "5", "busybox")
    with pytest.raises(UsageError, match="--health-retries cannot be negative"):
        body_for("--health-retries", "-1", "busybox")


def test_ps_status_shows_health() -> None:
    now = 1_700_000_000.0 + 5
    running = {"Status": "running", "StartedAt": "2023-11-14T22:13:20Z"}
    for health, shown in (("healthy", "Up 5 seconds (healthy)"),
                          ("unhealthy", "Up 5 seconds (unhealthy)"),
                          ("starting", "Up 5 seconds (health: starting)")):
        state = {**running, "Health": {"Status": health, "FailingStreak": 0, "Log": []}}
        assert human_status(state, now) == shown
    assert human_status(running, now) == "Up 5 seconds"


def test_endpoints_config_without_network_mode_and_extra_networks() -> None:
    only = parse_create({"Image": "b", "NetworkingConfig": {"EndpointsConfig": {
        "front": {"Aliases": ["a"]}}}}, None)
    assert only.spec.network_mode == "front" and only.spec.aliases == ("a",)
    two = parse_create({"Image": "b", "HostConfig": {"NetworkMode": "front"},
                        "NetworkingConfig": {"EndpointsConfig": {
                            "front": {}, "back": {"IPAMConfig": {"IPv4Address": "10.1.0.9"}}}}},
                       None)
    assert two.spec.network_mode == "front"
    assert [(e.network, e.ipv4) for e in two.extra_networks] == [("back", "10.1.0.9")]
    default = parse_create({"Image": "b", "HostConfig": {"NetworkMode": "default"},
                            "NetworkingConfig": {"EndpointsConfig": {"default": {}}}}, None)
    assert default.spec.network_mode == "bridge" and default.extra_networks == ()


def test_publish_forms() -> None:
    assert parse_publish("80") == [("80/tcp", "", "")]
    assert parse_publish("8080:80/udp") == [("80/udp", "", "8080")]
    assert parse_publish("8000-8001:80-81") == [("80/tcp", "", "8000"), ("81/tcp", "", "8001")]
    assert parse_publish("[::1]:9000:90") == [("90/tcp", "::1", "9000")]
    with pytest.raises(UsageError):
        parse_publish("1:2:3:4")


def test_ps_ports_and_status_and_exit_codes() -> None:
    assert format_ports([
        {"PrivatePort": 80, "Type": "tcp", "IP": "::", "PublicPort": 8080},
        {"PrivatePort": 80, "Type": "tcp", "IP": "0.0.0.0", "PublicPort": 8080},
        {"PrivatePort": 443, "Type": "tcp"}]) == (
        "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp, 443/tcp")
    now = 1_700_000_100.0
    assert human_status({"Status": "running", "StartedAt": "2023-11-14T22:13:20Z"},
                        now) == "Up About a minute"
    assert human_status({"Status": "exited", "ExitCode": 3,
                         "FinishedAt": "2023-11-14T22:14:50Z"}, now) == "Exited (3) 10 seconds ago"
    assert human_status({"Status": "created"}, now) == "Created"
    assert start_exit_code('exec: "x": executable file not found in $PATH') == 127
    assert start_exit_code('exec: "/etc": permission denied') == 126
    assert start_exit_code("port is already allocated") == 125


def test_stream_frames() -> None:
    assert frame(1, b"hi") == b"\x01\x00\x00\x00\x00\x00\x00\x02hi"
    assert frame(2, b"") == b""
