"""Every ``-p`` and ``--expose`` syntax Docker accepts, and the ones it refuses."""

from __future__ import annotations

import pytest

from dockyard.errors import InvalidParameter
from dockyard.portmap import ExposedPort, PortSpec, parse_expose, parse_publish


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("80", [PortSpec("tcp", 80, None, 0, 0)]),
        ("8080:80", [PortSpec("tcp", 80, None, 8080, 8080)]),
        ("127.0.0.1:8080:80", [PortSpec("tcp", 80, "127.0.0.1", 8080, 8080)]),
        ("127.0.0.1::80", [PortSpec("tcp", 80, "127.0.0.1", 0, 0)]),
        ("0.0.0.0:8080:80", [PortSpec("tcp", 80, "0.0.0.0", 8080, 8080)]),
        ("[::1]:8080:80", [PortSpec("tcp", 80, "::1", 8080, 8080)]),
        ("[::]::80", [PortSpec("tcp", 80, "::", 0, 0)]),
        ("::1:8080:80", [PortSpec("tcp", 80, "::1", 8080, 8080)]),
        ("[2001:DB8::0001]:53:53/udp", [PortSpec("udp", 53, "2001:db8::1", 53, 53)]),
        ("8080:80/udp", [PortSpec("udp", 80, None, 8080, 8080)]),
        ("80/tcp", [PortSpec("tcp", 80, None, 0, 0)]),
        ("80/UDP", [PortSpec("udp", 80, None, 0, 0)]),
        ("80/", [PortSpec("tcp", 80, None, 0, 0)]),
        ("0:80", [PortSpec("tcp", 80, None, 0, 0)]),
        ("8000-8010:80", [PortSpec("tcp", 80, None, 8000, 8010)]),
        (
            "8000-8002:9000-9002",
            [PortSpec("tcp", 9000 + i, None, 8000 + i, 8000 + i) for i in range(3)],
        ),
        ("3000-3002", [PortSpec("tcp", 3000 + i, None, 0, 0) for i in range(3)]),
        (
            "127.0.0.1::3000-3001/udp",
            [PortSpec("udp", 3000 + i, "127.0.0.1", 0, 0) for i in range(2)],
        ),
        ("65535:1", [PortSpec("tcp", 1, None, 65535, 65535)]),
    ],
)
def test_publish_syntaxes(spec: str, expected: list[PortSpec]) -> None:
    assert parse_publish(spec) == expected


def test_key_is_dockers() -> None:
    assert parse_publish("53/udp")[0].key == "53/udp"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", 'invalid port spec "": no container port specified'),
        ("8080:", 'invalid port spec "8080:": no container port specified'),
        ("8080:abc", 'invalid port spec "8080:abc": invalid containerPort: abc'),
        ("0", 'invalid port spec "0": invalid containerPort: 0'),
        ("65536", 'invalid port spec "65536": invalid containerPort: 65536'),
        ("+80", 'invalid port spec "+80": invalid containerPort: +80'),
        (" 80", 'invalid port spec " 80": invalid containerPort:  80'),
        ("1-2-3", 'invalid port spec "1-2-3": invalid containerPort: 1-2-3'),
        ("90-80", "invalid containerPort: 90-80 (range end is below its start)"),
        ("x:80", 'invalid port spec "x:80": invalid hostPort: x'),
        ("70000:80", 'invalid port spec "70000:80": invalid hostPort: 70000'),
        ("0-10:80", 'invalid port spec "0-10:80": invalid hostPort: 0-10'),
        ("80/sctpx", 'invalid port spec "80/sctpx": invalid proto: sctpx'),
        ("80/sctp", "invalid proto: sctp (dockyard publishes tcp and udp only)"),
        ("300.1.1.1:80:80", 'invalid port spec "300.1.1.1:80:80": invalid IP address: 300.1.1.1'),
        ("[127.0.0.1]:80:80", "invalid IP address: [127.0.0.1] (brackets are for IPv6)"),
        ("[::1:80:80", "invalid IP address: [::1"),
        (
            "8000-8001:80-82",
            "invalid ranges specified for container and host ports: 80-82 and 8000-8001",
        ),
        ("8080:80-81", "invalid ranges specified for container and host ports: 80-81 and 8080"),
    ],
)
def test_publish_errors_name_the_spec(spec: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        parse_publish(spec)
    assert message in str(info.value)
    assert f'"{spec}"' in str(info.value)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("80", [ExposedPort("tcp", 80)]),
        ("53/udp", [ExposedPort("udp", 53)]),
        ("7000-7002/udp", [ExposedPort("udp", p) for p in (7000, 7001, 7002)]),
    ],
)
def test_expose(spec: str, expected: list[ExposedPort]) -> None:
    assert parse_expose(spec) == expected
    assert expected[0].key == f"{expected[0].port}/{expected[0].proto}"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("8080:80", "--expose takes a port or range"),
        ("", "no port specified"),
        ("abc", "invalid port: abc"),
        ("80/icmp", "invalid proto: icmp"),
    ],
)
def test_expose_errors(spec: str, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        parse_expose(spec)
