"""The engine's decisions against an in-memory kernel and store: no root, milliseconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard import plan
from dockyard.engine import Engine, EngineConfig
from dockyard.engine.engine import PoolRequest
from dockyard.errors import Conflict, KernelError, Unavailable
from dockyard.portmap import parse_publish
from dockyard.store import MemoryStore
from tests.unit.engine.fake_kernel import FakeKernel


def _engine(tmp_path: Path, kernel: FakeKernel) -> Engine:
    config = EngineConfig(root=str(tmp_path / "state"), exec_root=str(tmp_path / "run"),
                          host_resolv_conf=str(tmp_path / "resolv.conf"))
    return Engine(config, MemoryStore(), kernel).open()


def test_predefined_networks_and_default_bridge(tmp_path: Path) -> None:
    engine = _engine(tmp_path, FakeKernel())
    names = {n.name: n for n in engine.networks()}
    assert set(names) == {"bridge", "host", "none"}
    assert names["bridge"].device == "dockyard0"
    assert names["bridge"].pools[0].subnet == "172.17.0.0/16"


def test_default_bridge_moves_off_a_subnet_the_host_already_routes(tmp_path: Path) -> None:
    from ipaddress import ip_network

    kernel = FakeKernel()
    kernel.routes = [ip_network("172.17.0.0/16")]  # say, docker0 on the same machine
    engine = _engine(tmp_path, kernel)
    assert engine.network("bridge").pools[0].subnet == "172.18.0.0/16"


def test_user_network_skips_host_routes(tmp_path: Path) -> None:
    from ipaddress import ip_network

    kernel = FakeKernel()
    engine = _engine(tmp_path, kernel)
    kernel.routes = [ip_network("172.18.0.0/16")]
    assert engine.create_network("a").pools[0].subnet == "172.19.0.0/16"


def test_forwarding_is_turned_on_once_per_engine(tmp_path: Path) -> None:
    kernel = FakeKernel()
    engine = _engine(tmp_path, kernel)  # the default bridge turned IPv4 forwarding on
    assert plan.Sysctl("net/ipv4/ip_forward", "1") in kernel.applied
    kernel.applied.clear()

    def v6(subnet: str) -> list[PoolRequest]:
        return [PoolRequest(), PoolRequest(subnet=subnet)]

    kernel.fail_on = plan.CreateBridge
    with pytest.raises(KernelError):
        engine.create_network("doomed", enable_ipv6=True, pools=v6("fd00:1::/64"))
    kernel.fail_on = None
    engine.create_network("a", enable_ipv6=True, pools=v6("fd00:2::/64"))
    engine.create_network("b", enable_ipv6=True, pools=v6("fd00:3::/64"))
    keys = [s.key for s in kernel.applied if isinstance(s, plan.Sysctl)]
    # Asked again after the failed create, never after the one that turned it on.
    assert keys.count("net/ipv6/conf/all/forwarding") == 1
    assert "net/ipv4/ip_forward" not in keys


@pytest.mark.parametrize("failing", [plan.CreateBridge, plan.ApplyFirewall, plan.Sysctl])
def test_kernel_failure_on_network_create_leaves_nothing(
    tmp_path: Path, failing: type[plan.Step]
) -> None:
    kernel = FakeKernel()
    engine = _engine(tmp_path, kernel)
    before_rows = engine.store.list("network")
    before_devices = set(kernel.devices)
    kernel.fail_on = failing
    with pytest.raises(KernelError):
        engine.create_network("doomed")
    assert engine.store.list("network") == before_rows
    assert kernel.devices == before_devices


def test_kernel_failure_on_connect_releases_the_address(tmp_path: Path) -> None:
    kernel = FakeKernel()
    engine = _engine(tmp_path, kernel)
    engine.create_network("n")
    engine.create_sandbox("a")
    kernel.fail_on = plan.CreateVeth
    with pytest.raises(KernelError):
        engine.connect("n", "a")
    kernel.fail_on = None
    assert engine.store.list("endpoint") == []
    assert engine.connect("n", "a").ipv4 == "172.18.0.2/16"  # the address was not leaked


def test_random_ports_exhaust_with_a_clear_error(tmp_path: Path) -> None:
    engine = _engine(tmp_path, FakeKernel())  # ephemeral range 32768-32770: three ports
    engine.create_sandbox("a", ports=parse_publish("80") + parse_publish("81"))
    engine.create_sandbox("b", ports=parse_publish("80"))
    with pytest.raises(Unavailable):
        engine.create_sandbox("c", ports=parse_publish("80"))
    assert sorted(s.name for s in engine.sandboxes()) == ["a", "b"]


def test_port_held_on_the_host_is_a_conflict(tmp_path: Path) -> None:
    kernel = FakeKernel()
    kernel.busy_ports.add(8080)
    engine = _engine(tmp_path, kernel)
    with pytest.raises(Conflict, match="8080"):
        engine.create_sandbox("a", ports=parse_publish("8080:80"))
    assert engine.sandboxes() == []


def test_firewall_is_only_reapplied_when_it_changes(tmp_path: Path) -> None:
    kernel = FakeKernel()
    engine = _engine(tmp_path, kernel)
    engine.create_network("n")
    engine.create_sandbox("a")
    kernel.applied.clear()
    engine.connect("n", "a")  # no published ports: nothing for the firewall to do
    assert not any(isinstance(s, plan.ApplyFirewall) for s in kernel.applied)
    engine.create_sandbox("b", ports=parse_publish("8080:80"))
    engine.connect("n", "b")
    assert any(isinstance(s, plan.ApplyFirewall) for s in kernel.applied)


def test_network_names_may_have_spaces_as_in_docker(tmp_path: Path) -> None:
    engine = _engine(tmp_path, FakeKernel())
    net = engine.create_network("test 01")
    assert engine.network("test 01").id == net.id


def test_state_cache_survives_writes_to_other_kinds(tmp_path: Path) -> None:
    engine = _engine(tmp_path, FakeKernel())
    first = engine.state()
    with engine.store.transaction() as txn:  # say, a container record
        txn.put("container", "c1", {"id": "c1"})
    assert engine.state() is first
    with engine.store.transaction() as txn:  # another process changing a network row
        txn.put("network", "x", engine.network("bridge").to_doc() | {"id": "x", "name": "x"})
    assert engine.state() is not first
    assert engine.network("x").name == "x"


def test_ipv6_without_a_subnet_takes_a_64_of_the_engines_ula_prefix(tmp_path: Path) -> None:
    from ipaddress import IPv6Network

    from dockyard.ipam.pools import ula_base

    engine = _engine(tmp_path, FakeKernel())
    prefix = ula_base(engine.engine_id())
    a = engine.create_network("a", enable_ipv6=True)
    b = engine.create_network("b", enable_ipv6=True)
    # IPv4 first, from the defaults, as Docker lists them; then successive /64s.
    assert [p.subnet for p in a.pools] == ["172.18.0.0/16", str(next(prefix.subnets(16)))]
    v6 = [IPv6Network(n.pools[1].subnet) for n in (a, b)]
    assert v6[0] != v6[1] and all(s.prefixlen == 64 and s.subnet_of(prefix) for s in v6)
    assert b.pools[1].gateway == str(v6[1].network_address + 1)
    # The id, and with it the prefix, is the state root's: a new engine on it keeps both.
    again = _engine(tmp_path, FakeKernel())
    assert again.engine_id() == engine.engine_id()
    assert (tmp_path / "state" / "engine-id").read_text() == engine.engine_id()


def test_an_ipv6_subnet_alone_still_gets_ipv4_from_the_defaults(tmp_path: Path) -> None:
    engine = _engine(tmp_path, FakeKernel())
    network = engine.create_network("six", enable_ipv6=True,
                                    pools=[PoolRequest(subnet="fd00:dead::/64")])
    assert [p.subnet for p in network.pools] == ["172.18.0.0/16", "fd00:dead::/64"]
    both = engine.create_network("both", enable_ipv6=True, pools=[
        PoolRequest(subnet="fd00:beef::/64"), PoolRequest(subnet="10.5.0.0/24")])
    assert [p.subnet for p in both.pools] == ["10.5.0.0/24", "fd00:beef::/64"]
