"""Host-port allocation: fixed ports, host ranges, random ports, conflicts, exhaustion."""

from __future__ import annotations

import random
import re

import pytest

from dockyard.errors import Conflict, InvalidParameter, Unavailable
from dockyard.portmap import Binding, PortSpec, allocate_host_ports, ips_overlap


def always_free(proto: str, ip: str | None, port: int) -> bool:
    return True


EPHEMERAL = (32768, 60999)


def spec(
    container: int, host: int | tuple[int, int] = 0, ip: str | None = None, proto: str = "tcp"
) -> PortSpec:
    start, end = host if isinstance(host, tuple) else (host, host)
    return PortSpec(proto, container, ip, start, end)  # type: ignore[arg-type]


def test_fixed_port() -> None:
    got = allocate_host_ports([spec(80, 8080)], set(), EPHEMERAL, always_free)
    assert got == [Binding("tcp", 80, None, 8080)]


@pytest.mark.parametrize(
    ("held_ip", "ip", "message"),
    [
        (None, None, "Bind for 0.0.0.0:8080 failed: port is already allocated"),
        (None, "127.0.0.1", "Bind for 127.0.0.1:8080 failed: port is already allocated"),
        ("127.0.0.1", None, "Bind for 0.0.0.0:8080 failed: port is already allocated"),
        ("0.0.0.0", "10.0.0.1", "Bind for 10.0.0.1:8080 failed"),
        ("::", "::1", "Bind for [::1]:8080 failed: port is already allocated"),
    ],
)
def test_fixed_port_taken_on_an_overlapping_address(
    held_ip: str | None, ip: str | None, message: str
) -> None:
    with pytest.raises(Conflict, match=re.escape(message)):
        allocate_host_ports([spec(80, 8080, ip)], {("tcp", held_ip, 8080)}, EPHEMERAL, always_free)


@pytest.mark.parametrize(
    ("taken", "ip", "proto"),
    [
        (("udp", None, 8080), None, "tcp"),  # other protocol
        (("tcp", "127.0.0.1", 8080), "127.0.0.2", "tcp"),  # other address
        (("tcp", "0.0.0.0", 8080), "::1", "tcp"),  # other family
        (("tcp", "::", 8080), "0.0.0.0", "tcp"),  # :: is v6-only for us
        (("tcp", None, 8081), None, "tcp"),  # other port
    ],
)
def test_non_overlapping_bindings_coexist(
    taken: tuple[str, str | None, int], ip: str | None, proto: str
) -> None:
    got = allocate_host_ports([spec(80, 8080, ip, proto)], {taken}, EPHEMERAL, always_free)
    assert got[0].host_port == 8080


def test_ips_overlap() -> None:
    assert ips_overlap(None, "::1")
    assert ips_overlap("0.0.0.0", "192.0.2.1")
    assert not ips_overlap("192.0.2.1", "192.0.2.2")
    assert not ips_overlap("::", "0.0.0.0")


def test_fixed_port_refused_by_the_kernel_is_a_conflict() -> None:
    calls: list[tuple[str, str | None, int]] = []

    def is_free(proto: str, ip: str | None, port: int) -> bool:
        calls.append((proto, ip, port))
        return False

    with pytest.raises(
        Conflict, match=re.escape("Bind for 0.0.0.0:8080 failed: port is already allocated")
    ):
        allocate_host_ports([spec(80, 8080)], set(), EPHEMERAL, is_free)
    assert calls == [("tcp", None, 8080)]


def test_same_host_port_twice_in_one_request_conflicts() -> None:
    with pytest.raises(Conflict, match=re.escape("0.0.0.0:8080")):
        allocate_host_ports([spec(80, 8080), spec(81, 8080)], set(), EPHEMERAL, always_free)


def test_host_range_gives_first_usable_port() -> None:
    taken = {("tcp", None, 8000)}

    def is_free(proto: str, ip: str | None, port: int) -> bool:
        return port != 8001

    got = allocate_host_ports([spec(80, (8000, 8010))], taken, EPHEMERAL, is_free)
    assert got == [Binding("tcp", 80, None, 8002)]


def test_host_range_exhausted_conflicts_with_the_range_in_the_message() -> None:
    taken = {("tcp", None, p) for p in (8000, 8001, 8002)}
    with pytest.raises(Conflict, match=re.escape("Bind for 0.0.0.0:8000-8002 failed")):
        allocate_host_ports([spec(80, (8000, 8002))], taken, EPHEMERAL, always_free)


def test_random_ports_come_from_the_ephemeral_range_and_differ() -> None:
    specs = [spec(3000 + i) for i in range(6)]
    got = allocate_host_ports(specs, set(), (40000, 40009), always_free, random.Random(1))
    ports = [b.host_port for b in got]
    assert all(40000 <= p <= 40009 for p in ports)
    assert len(set(ports)) == 6
    assert [b.container_port for b in got] == [3000 + i for i in range(6)]


def test_random_ports_are_deterministic_with_a_seeded_rng() -> None:
    specs = [spec(80), spec(443)]
    a = allocate_host_ports(specs, set(), EPHEMERAL, always_free, random.Random(42))
    b = allocate_host_ports(specs, set(), EPHEMERAL, always_free, random.Random(42))
    assert a == b


def test_random_start_varies_with_the_seed() -> None:
    starts = {
        allocate_host_ports([spec(80)], set(), EPHEMERAL, always_free, random.Random(s))[
            0
        ].host_port
        for s in range(20)
    }
    assert len(starts) > 1


def test_random_skips_taken_and_non_free_ports_and_wraps() -> None:
    # Only 40003 is usable: whatever the random start, the walk must wrap around to find it.
    taken = {("tcp", None, p) for p in (40000, 40001)}

    def is_free(proto: str, ip: str | None, port: int) -> bool:
        return port not in (40002, 40004)

    for seed in range(10):
        got = allocate_host_ports([spec(80)], taken, (40000, 40004), is_free, random.Random(seed))
        assert got[0].host_port == 40003


def test_random_exhaustion_is_unavailable() -> None:
    taken = {("udp", None, p) for p in range(50000, 50003)}
    with pytest.raises(Unavailable, match=r"no free host port for 53/udp.*50000-50002"):
        allocate_host_ports([spec(53, proto="udp")], taken, (50000, 50002), always_free)


def test_failure_allocates_nothing_the_caller_can_see() -> None:
    taken: set[tuple[str, str | None, int]] = {("tcp", None, 8081)}
    with pytest.raises(Conflict):
        allocate_host_ports([spec(80, 8080), spec(81, 8081)], taken, EPHEMERAL, always_free)
    assert taken == {("tcp", None, 8081)}  # the input is never modified


@pytest.mark.parametrize("bad", [(0, 10), (100, 99), (1, 65536)])
def test_bad_ephemeral_range(bad: tuple[int, int]) -> None:
    with pytest.raises(InvalidParameter, match="invalid ephemeral port range"):
        allocate_host_ports([spec(80)], set(), bad, always_free)
