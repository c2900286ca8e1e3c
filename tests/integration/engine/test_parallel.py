"""Many sandboxes changed at once: kernel work runs outside the engine lock, in parallel,
and what comes out must be what the same changes would give one after another."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from dockyard.engine import Engine
from tests.integration.hosts import Host, run_in

pytestmark = pytest.mark.root


def test_parallel_sandboxes_get_distinct_addresses_and_leave_nothing(
        engine: Engine, host: Host) -> None:
    engine.create_network("front")
    engine.create_network("back")
    links_before = {link["name"] for link in engine.kernel.links()}

    def life(i: int) -> tuple[str, str, str]:
        name = f"s{i}"
        sandbox = engine.create_sandbox(name)
        front = engine.connect("front", name)
        back = engine.connect("back", name)
        # Inside, both interfaces carry their addresses; the default route is Docker's
        # choice (equal priorities: the network whose name sorts first, "back", on eth1)
        # and moves to front's eth0 when back is left.
        addresses = run_in(sandbox.netns, ["ip", "-o", "-4", "addr"]).stdout
        assert f"{front.ipv4_address}/" in addresses and f"{back.ipv4_address}/" in addresses
        assert "dev eth1" in default_route(sandbox.netns)
        engine.disconnect("back", name)
        assert "dev eth0" in default_route(sandbox.netns)
        return name, str(front.ipv4_address), str(back.ipv4_address)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(life, range(24)))

    # Every front address is still held: no two parallel connects were given the same one
    # (back's were freed by each disconnect and may have been handed out again).
    fronts = [front for _, front, _ in results]
    assert len(set(fronts)) == len(fronts)
    state = engine.state()
    assert all(e.state == "ready" for e in state.endpoints)
    assert {e.network_id for e in state.endpoints} == {engine.network("front").id}
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(engine.remove_sandbox, [name for name, _, _ in results]))
    engine.kernel.settle()
    assert engine.state().sandboxes == ()
    assert {link["name"] for link in engine.kernel.links()} == links_before


def default_route(netns: str) -> str:
    return run_in(netns, ["ip", "route", "show", "default"]).stdout
