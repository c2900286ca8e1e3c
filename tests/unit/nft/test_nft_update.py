"""Element deltas between two firewall states, the engine's choice between a delta and a
full render, and (as root) that nft applies a delta on top of a full render."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from test_nft_render import DEFAULT, FRONT, QUIET, STATES, _nft_check_available, port

from dockyard import plan
from dockyard.engine.firewall import (
    ApplyFirewallState,
    firewall_step,
    from_doc,
    records,
    to_doc,
)
from dockyard.errors import InvalidParameter
from dockyard.nft import FirewallState, render_ruleset, render_update


def test_same_state_needs_no_update() -> None:
    assert render_update(STATES["many_ports"], STATES["many_ports"]) == ""


def test_adding_a_network_only_adds_elements() -> None:
    old = FirewallState(networks=(DEFAULT,))
    new = FirewallState(networks=(DEFAULT, FRONT))
    script = render_update(old, new)
    lines = script.splitlines()
    assert all(ln.startswith("add element inet dockyard ") for ln in lines)
    assert 'add element inet dockyard bridges { "dy-front" }' in lines
    assert 'add element inet dockyard same_bridge { "dy-front" . "dy-front" }' in lines
    assert "add element inet dockyard masq4 { 172.18.0.0/16 }" in lines
    assert 'add element inet dockyard subnets4 { "dy-front" . 172.18.0.0/16 }' in lines
    assert len(lines) == 4  # nothing about the network that was already there


def test_removing_a_network_only_deletes_elements() -> None:
    script = render_update(FirewallState(networks=(DEFAULT, QUIET)), FirewallState((DEFAULT,)))
    lines = script.splitlines()
    assert all(ln.startswith("delete element inet dockyard ") for ln in lines)
    assert 'delete element inet dockyard no_icc { "dy-quiet" }' in lines
    assert 'delete element inet dockyard bridges { "dy-quiet" }' in lines


def test_port_changes_delete_map_keys_then_add() -> None:
    old = FirewallState((DEFAULT,), (port(None, 8080, "172.17.0.2", 80, "dockyard0"),))
    new = FirewallState((DEFAULT,), (port(None, 8080, "172.17.0.3", 80, "dockyard0"),))
    assert render_update(old, new) == (
        "delete element inet dockyard ports4_any { tcp . 8080 }\n"
        "add element inet dockyard ports4_any { tcp . 8080 : 172.17.0.3 . 80 }\n"
    )
    first = render_update(FirewallState((DEFAULT,)), old).splitlines()
    assert first == [
        "add element inet dockyard ports4_any { tcp . 8080 : 172.17.0.2 . 80 }",
        'add element inet dockyard localhost_snat { "dockyard0" : 172.17.0.1 }',
        'add element inet dockyard hairpin4 { "dockyard0" . 172.17.0.0/16 }',
    ]


@pytest.mark.parametrize("name", sorted(STATES))
def test_state_doc_round_trips(name: str) -> None:
    assert from_doc(to_doc(STATES[name])) == STATES[name]


def test_bad_state_doc_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="invalid stored firewall state"):
        from_doc({"networks": [{"bridge": "x"}], "ports": []})


def test_engine_step_full_render_until_a_state_is_recorded() -> None:
    state = STATES["icc_off"]
    first = firewall_step(None, None, state)
    assert isinstance(first, ApplyFirewallState)
    assert first.script == render_ruleset(state) and first.previous == ""
    applied, recorded = records(first)
    assert applied == {"script": render_ruleset(state)}
    # Nothing changed: nothing to apply, with or without a recorded state.
    assert firewall_step(applied, recorded, state) is None
    assert firewall_step(applied, None, state) is None
    bigger = FirewallState(networks=(*state.networks, DEFAULT), ports=state.ports)
    step = firewall_step(applied, recorded, bigger)
    assert step is not None and step.state == bigger
    assert step.script == render_update(state, bigger)
    assert step.table == render_ruleset(bigger)
    assert step.undo() == plan.ApplyFirewall(render_update(bigger, state), step.script)


def test_engine_step_distrusts_a_state_that_is_not_of_the_applied_table() -> None:
    # Reconcile re-rendered the table from the store without updating the state record.
    _, recorded = records(firewall_step(None, None, STATES["icc_off"]))  # type: ignore[arg-type]
    reconciled = {"script": render_ruleset(STATES["one_network"])}
    step = firewall_step(reconciled, recorded, STATES["many_ports"])
    assert step is not None
    assert step.script == render_ruleset(STATES["many_ports"])
    assert step.previous == reconciled["script"]


def test_engine_step_takes_the_state_it_recorded_itself_without_reading_it_back() -> None:
    first = firewall_step(None, None, STATES["icc_off"])
    assert first is not None
    applied, recorded = records(first)
    known = (recorded["script_sha256"], first.state)
    # The stored state record is unreadable; the engine's own note of it still serves...
    damaged = {**recorded, "state": {"networks": "?"}}
    bigger = FirewallState(networks=(*first.state.networks, DEFAULT))
    step = firewall_step(applied, damaged, bigger, known=known)
    assert step is not None and step.script == render_update(first.state, bigger)
    assert firewall_step(applied, damaged, first.state, known=known) is None
    # ...but only while the store holds that very record: else a full render, as before.
    stale = ("0" * 64, first.state)
    step = firewall_step(applied, damaged, bigger, known=stale)
    assert step is not None and step.script == render_ruleset(bigger)


@pytest.mark.root
@pytest.mark.skipif(not _nft_check_available(), reason="needs root, nft and unshare")
@pytest.mark.parametrize(("old", "new"), [
    ("empty", "many_ports"), ("many_ports", "empty"), ("many_ports", "ipv6"),
    ("icc_off", "internal"), ("ipv6", "one_network"),
])
def test_nft_applies_an_update_on_a_full_render(old: str, new: str, tmp_path: Path) -> None:
    # Really applied, in a throwaway network namespace that dies with the process: the full
    # render, then the update as its own transaction (as the engine does; nft 1.0.6 resolves
    # interval-set deletes against the kernel's contents, not the same script's). The listed
    # table must then be the one a full render of the new state gives.
    full, update = tmp_path / "full.nft", tmp_path / "update.nft"
    full.write_text(render_ruleset(STATES[old]))
    update.write_text(render_update(STATES[old], STATES[new]))
    result = _listed(f"nft -f {full} && nft -f {update}")
    full.write_text(render_ruleset(STATES[new]))
    assert result == _listed(f"nft -f {full}")


def _listed(commands: str) -> str:
    result = subprocess.run(
        ["unshare", "-n", "sh", "-c", f"{commands} && nft list table inet dockyard"],
        capture_output=True, text=True, timeout=20, check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
