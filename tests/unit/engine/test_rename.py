"""Renaming a sandbox: the DNS view follows in one change; a refused rename changes nothing."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import pytest

from dockyard.dns.binding import dns_view
from dockyard.dns.records import QTYPE_A, AnswerKind
from dockyard.engine import Engine, EngineConfig
from dockyard.engine.state import State
from dockyard.errors import Conflict, InvalidParameter
from dockyard.store import MemoryStore
from tests.unit.engine.fake_kernel import FakeKernel


def _engine(tmp_path: Path) -> Engine:
    config = EngineConfig(root=str(tmp_path / "state"), exec_root=str(tmp_path / "run"),
                          host_resolv_conf=str(tmp_path / "resolv.conf"))
    return Engine(config, MemoryStore(), FakeKernel()).open()


def _resolve(state: State, asker: str, name: str) -> AnswerKind | tuple[IPv4Address, ...]:
    answer = dns_view(state).records.lookup(asker, name, QTYPE_A)
    if answer.kind is AnswerKind.FOUND:
        return tuple(a for a in answer.addresses if isinstance(a, IPv4Address))
    return answer.kind


def test_rename_moves_the_dns_name_in_one_notified_change(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    engine.create_network("app")
    web = engine.create_sandbox("web")
    client = engine.create_sandbox("client")
    address = engine.connect("app", web.id, aliases=["www"]).ipv4_address
    engine.connect("app", client.id)
    seen: list[tuple[str, AnswerKind | tuple[IPv4Address, ...],
                     AnswerKind | tuple[IPv4Address, ...]]] = []
    engine.subscribe(lambda event, _id, state: seen.append(
        (event, _resolve(state, client.id, "web"), _resolve(state, client.id, "web2"))))

    renamed = engine.rename_sandbox("web", "web2")

    expected = (IPv4Address(str(address)),)
    assert renamed.name == "web2" and engine.sandbox(web.id).name == "web2"
    assert seen == [("sandbox.rename", AnswerKind.FORWARD, expected)]
    state = engine.state()
    assert _resolve(state, client.id, "www") == expected  # aliases are kept
    assert [e.name for e in state.endpoints_of_sandbox(web.id)] == ["web2"]
    with open(tmp_path / "state" / "sandboxes" / web.id / "hosts") as f:
        assert "web" not in f.read()  # the hosts file names the hostname, not the name


def test_refused_renames_change_nothing(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    engine.create_network("app")
    web = engine.create_sandbox("web")
    engine.create_sandbox("client")
    engine.connect("app", "web")
    before = engine.state()
    with pytest.raises(Conflict, match='"client" is already in use'):
        engine.rename_sandbox("web", "client")
    with pytest.raises(InvalidParameter, match='invalid sandbox name "no way"'):
        engine.rename_sandbox("web", "no way")
    assert engine.state() == before
    assert engine.rename_sandbox(web.id, "web") == before.sandbox(web.id)  # a no-op
