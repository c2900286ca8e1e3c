"""dns_view with its memo: the same view as without, change after change."""

from __future__ import annotations

from pathlib import Path

from tests.unit.engine.fake_kernel import FakeKernel

from dockyard.dns.binding import DnsEndpoint, dns_view
from dockyard.engine import Engine, EngineConfig
from dockyard.store import MemoryStore


def test_memoised_views_equal_fresh_ones_through_connect_rename_and_disconnect(
        tmp_path: Path) -> None:
    config = EngineConfig(root=str(tmp_path / "state"), exec_root=str(tmp_path / "run"),
                          host_resolv_conf=str(tmp_path / "resolv.conf"))
    engine = Engine(config, MemoryStore(), FakeKernel()).open()
    engine.create_network("app")
    engine.create_network("db")
    memo: dict[object, DnsEndpoint] = {}

    def check() -> None:
        state = engine.state()
        assert dns_view(state, memo) == dns_view(state)

    for name in ("web", "api", "cache"):
        engine.create_sandbox(name, hostname=f"{name}-host")
        engine.connect("app", name, aliases=[f"{name}-alias"])
        check()
    engine.connect("db", "api")
    check()
    engine.rename_sandbox("api", "api2")  # only the name changes: the memo must not hide it
    check()
    engine.disconnect("app", "web")
    check()
    engine.remove_sandbox("cache")
    check()
    assert len(memo) == 2  # api2 on app and on db: nothing of the removed ones is kept
