"""dns_view with its memo: the same view as without, change after change."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
from tests.unit.engine.fake_kernel import FakeKernel

from dockyard.dns.view import ViewMemo, _changes, dns_view
from dockyard.engine import Engine, EngineConfig
from dockyard.engine.state import State
from dockyard.model.endpoint import Endpoint
from dockyard.model.network import OPT_DEFAULT_BRIDGE, Network
from dockyard.model.sandbox import MODE_CONTAINER, MODE_HOST, MODE_PRIVATE, Sandbox
from dockyard.store import MemoryStore


def test_memoised_views_equal_fresh_ones_through_connect_rename_and_disconnect(
        tmp_path: Path) -> None:
    config = EngineConfig(root=str(tmp_path / "state"), exec_root=str(tmp_path / "run"),
                          host_resolv_conf=str(tmp_path / "resolv.conf"))
    engine = Engine(config, MemoryStore(), FakeKernel()).open()
    engine.create_network("app")
    engine.create_network("db")
    memo = ViewMemo()

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
    # api2 on app and on db: nothing of the removed ones is kept
    assert len(memo.made) == 2 and len(memo.sequence) == 2


NETWORKS = (
    Network("n-front", "front", "bridge", ""),
    Network("n-back", "back", "bridge", "", internal=True),
    Network("n-default", "bridge", "bridge", "", options={OPT_DEFAULT_BRIDGE: "true"}),
    Network("n-host", "host", "host", ""),
)


def _sandbox(rng: random.Random, sandbox_id: str) -> Sandbox:
    return Sandbox(
        id=sandbox_id,
        name=rng.choice([f"c-{sandbox_id}", f"renamed-{sandbox_id}", "same-name"]),
        mode=rng.choice([MODE_PRIVATE] * 4 + [MODE_HOST, MODE_CONTAINER]),
        netns=rng.choice([f"/run/netns/{sandbox_id}"] * 3 + [""]),
        hostname=rng.choice(["", f"h-{sandbox_id}", "shared-host"]),
        dns=rng.choice([(), (), ("9.9.9.9",)]),
    )


def _endpoint(rng: random.Random, sandbox_id: str, network: Network, seq: int) -> Endpoint:
    host = rng.randint(2, 9)
    return Endpoint(
        id=f"ep-{sandbox_id}-{network.id}",
        network_id=network.id,
        sandbox_id=sandbox_id,
        name="",
        ifname=f"eth{seq}",
        host_ifname="",
        ipv4=f"10.0.0.{host}/24" if rng.random() < 0.9 else None,
        ipv6=f"fd00::{host}/64" if rng.random() < 0.3 else None,
        aliases=tuple(rng.sample(["web", "api", "svc", "db.front"], rng.randint(0, 2))),
        seq=seq,
        state=rng.choice(["ready"] * 6 + ["creating"]),
    )


def _step(rng: random.Random, state: State) -> State:
    """One change, made as the engine makes them (State.put_* / drop_*), or now and then
    a state read back whole (every object new) or in a shape the engine never leaves."""
    sandbox_ids = [f"s{i}" for i in range(8)]
    roll = rng.random()
    if roll < 0.3:  # connect (or reconnect: a new endpoint object in the same place)
        sandbox_id = rng.choice(sandbox_ids)
        network = rng.choice(NETWORKS)
        seq = rng.choice([0, 1, 2, 2, 3])  # now and then two endpoints in one place
        return state.put_endpoint(_endpoint(rng, sandbox_id, network, seq))
    if roll < 0.45 and state.endpoints:  # disconnect
        return state.drop_endpoint(rng.choice(state.endpoints).id)
    if roll < 0.6:  # create, rename or otherwise change a sandbox
        return state.put_sandbox(_sandbox(rng, rng.choice(sandbox_ids)))
    if roll < 0.7 and state.sandboxes:  # remove a sandbox with its endpoints
        return state.drop_sandbox(rng.choice(state.sandboxes).id)
    if roll < 0.75 and state.sandboxes:  # the sandbox only: its endpoints are orphaned
        gone = rng.choice(state.sandboxes).id
        return replace(state, sandboxes=tuple(s for s in state.sandboxes if s.id != gone))
    if roll < 0.8:  # a network changes
        network = rng.choice(state.networks)
        return state.put_network(replace(network, internal=not network.internal))
    if roll < 0.85:  # read back from the store: equal objects, none the same
        return State(tuple(replace(n) for n in state.networks),
                     tuple(replace(s) for s in state.sandboxes),
                     tuple(replace(e) for e in state.endpoints))
    if roll < 0.9:  # shuffled: not a shape put_*/drop_* leave
        endpoints = list(state.endpoints)
        rng.shuffle(endpoints)
        return replace(state, endpoints=tuple(endpoints))
    if roll < 0.95 and state.endpoints:  # an endpoint's state or aliases change
        endpoint = rng.choice(state.endpoints)
        return state.put_endpoint(replace(endpoint, state=rng.choice(["ready", "creating"]),
                                          aliases=endpoint.aliases[::-1]))
    return state  # the same state again


@pytest.mark.parametrize("seed", range(30))
def test_derived_views_equal_fresh_ones_through_random_changes(seed: int) -> None:
    rng = random.Random(seed)
    state = State(NETWORKS, (), ())
    memo = ViewMemo()
    derived: list[bool] = []
    derive = memo.derive

    def counted(state: State) -> object:
        parts = derive(state)
        derived.append(parts is not None)
        return parts

    memo.derive = counted  # type: ignore[assignment,method-assign]
    for _ in range(150):
        state = _step(rng, state)
        view = dns_view(state, memo)
        fresh = dns_view(state)
        assert view == fresh
        assert view.resolvers == fresh.resolvers and view.upstreams == fresh.upstreams
        assert view.records.sandbox_scopes() == fresh.records.sandbox_scopes()
    assert sum(derived) > 75  # mostly derived, not built anew


@pytest.mark.parametrize("seed", range(20))
def test_changes_between_tuples_account_for_every_item(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(100):
        old = tuple(object() for _ in range(rng.randint(0, 20)))
        new = list(old)
        for _ in range(rng.randint(0, 4)):
            roll = rng.random()
            if roll < 0.3 and new:
                new.pop(rng.randrange(len(new)))
            elif roll < 0.6:
                new.insert(rng.randint(0, len(new)), object())
            elif roll < 0.8:
                new.append(object())
            elif new:
                new[rng.randrange(len(new))] = object()
        if rng.random() < 0.05:
            rng.shuffle(new)
        found = _changes(old, tuple(new))
        if found is None:
            continue
        gone, came = ({id(x) for x in items} for items in found)
        # what is left of each, in order, is the same objects
        left = [x for x in old if id(x) not in gone]
        assert left == [x for x in new if id(x) not in came]
        assert all(a is b for a, b in zip(left, [x for x in new if id(x) not in came],
                                          strict=True))
