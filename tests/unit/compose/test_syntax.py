"""Ports, volumes and durations: every short syntax and the long syntax."""

from __future__ import annotations

import pytest

from dockyard.compose.duration import format_duration, parse_duration
from dockyard.compose.model import ServicePort, ServiceVolume
from dockyard.compose.ports import PortSyntaxError, parse_port
from dockyard.compose.volumes import VolumeSyntaxError, parse_volume


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("2181", [ServicePort(target=2181)]),
        (2181, [ServicePort(target=2181)]),
        ("8080:80", [ServicePort(target=80, published="8080")]),
        ("8080:80/udp", [ServicePort(target=80, published="8080", protocol="udp")]),
        ("127.0.0.1:8080:80/udp",
         [ServicePort(target=80, published="8080", host_ip="127.0.0.1", protocol="udp")]),
        ("127.0.0.1::80", [ServicePort(target=80, host_ip="127.0.0.1")]),
        ("[::1]:8080:80", [ServicePort(target=80, published="8080", host_ip="::1")]),
        ("3000-3002", [ServicePort(target=p) for p in (3000, 3001, 3002)]),
        ("9090-9091:8080-8081",
         [ServicePort(target=8080, published="9090"), ServicePort(target=8081, published="9091")]),
        ("5000-5010:5000", [ServicePort(target=5000, published="5000-5010")]),
        ({"target": 80, "published": 8080, "host_ip": "127.0.0.1", "protocol": "udp",
          "mode": "host"},
         [ServicePort(target=80, published="8080", host_ip="127.0.0.1", protocol="udp",
                      mode="host")]),
        ({"target": "80"}, [ServicePort(target=80)]),
        ({"target": 80, "published": "8000-8010", "name": "web", "app_protocol": "http"},
         [ServicePort(target=80, published="8000-8010", name="web", app_protocol="http")]),
    ],
)
def test_port_syntaxes(spec: object, expected: list[ServicePort]) -> None:
    assert parse_port(spec) == expected  # type: ignore[arg-type]


def test_lone_port_gets_a_random_host_port() -> None:
    (port,) = parse_port("2181")
    assert port.random_host_port and port.published is None and port.mode == "ingress"


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("80:80:80:80", "too many colons"),
        ("abc", "invalid container port"),
        ("70000", "out of range"),
        ("8080:80/icmp", "invalid protocol"),
        ("1-3:1-2", "not the same length"),
        ("nothost:8080:80", "invalid host IP"),
        ({"published": 80}, "needs target"),
        ({"target": 80, "mode": "bogus"}, "invalid mode"),
    ],
)
def test_bad_ports(spec: object, reason: str) -> None:
    with pytest.raises(PortSyntaxError, match=reason):
        parse_port(spec)  # type: ignore[arg-type]


BASE = "/project"
ENV = {"HOME": "/home/me"}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("data:/x", ServiceVolume(type="volume", source="data", target="/x")),
        ("data:/x:ro", ServiceVolume(type="volume", source="data", target="/x", read_only=True)),
        ("data:/x:nocopy", ServiceVolume(type="volume", source="data", target="/x", nocopy=True)),
        ("/x", ServiceVolume(type="volume", target="/x")),
        ("./d:/x:ro", ServiceVolume(type="bind", source="/project/d", target="/x",
                                    read_only=True, create_host_path=True)),
        ("/abs:/x", ServiceVolume(type="bind", source="/abs", target="/x",
                                  create_host_path=True)),
        ("../up:/x:rw,z", ServiceVolume(type="bind", source="/up", target="/x",
                                        create_host_path=True, selinux="z")),
        ("~/cfg:/x:rshared", ServiceVolume(type="bind", source="/home/me/cfg", target="/x",
                                           create_host_path=True, propagation="rshared")),
        ({"type": "volume", "source": "data", "target": "/x", "read_only": True},
         ServiceVolume(type="volume", source="data", target="/x", read_only=True)),
        ({"type": "bind", "source": "./d", "target": "/x", "bind": {"create_host_path": True}},
         ServiceVolume(type="bind", source="/project/d", target="/x", create_host_path=True)),
        ({"type": "bind", "source": "/d", "target": "/x"},
         ServiceVolume(type="bind", source="/d", target="/x")),
        ({"type": "volume", "target": "/anon"}, ServiceVolume(type="volume", target="/anon")),
        ({"type": "tmpfs", "target": "/t", "tmpfs": {"size": 1024, "mode": "1777"}},
         ServiceVolume(type="tmpfs", target="/t", tmpfs_size=1024, tmpfs_mode=0o1777)),
    ],
)
def test_volume_syntaxes(spec: object, expected: ServiceVolume) -> None:
    assert parse_volume(spec, BASE, ENV) == expected  # type: ignore[arg-type]


def test_lone_path_is_anonymous_and_named_is_named() -> None:
    assert parse_volume("/home/pinpoint/hbase", BASE, ENV).anonymous
    assert parse_volume("data:/x", BASE, ENV).named


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("relative/only", "absolute container path"),
        ("data:relative", "not absolute"),
        ("data:/x:bogus", "unknown mode"),
        ("a:b:c:d", "expected"),
        ({"type": "bind", "target": "/x"}, "needs source"),
        ({"type": "volume", "source": "v"}, "needs target"),
    ],
)
def test_bad_volumes(spec: object, reason: str) -> None:
    with pytest.raises(VolumeSyntaxError, match=reason):
        parse_volume(spec, BASE, ENV)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "ns", "shown"),
    [
        ("1m30s", 90_000_000_000, "1m30s"),
        ("500ms", 500_000_000, "500ms"),
        ("1.5s", 1_500_000_000, "1.5s"),
        ("1h", 3_600_000_000_000, "1h0m0s"),
        ("0", 0, "0s"),
        ("10us", 10_000, "10µs"),
    ],
)
def test_durations(text: str, ns: int, shown: str) -> None:
    assert parse_duration(text) == ns
    assert format_duration(ns) == shown


@pytest.mark.parametrize("text", ["10", "1x", "", "m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
