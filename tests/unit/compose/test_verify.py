"""``plan --verify``: each reachability cell the plan predicts, against a probe's answer."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dockyard.compose.loader import load_project
from dockyard.compose.plan import plan_project
from dockyard.compose.verify import checks_to_dicts, render_checks, verify

COMPOSE = """\
services:
  proxy: {image: busybox, networks: [front]}
  web: {image: busybox, networks: [front, back]}
  db: {image: busybox, networks: [back]}
  tool: {image: busybox, network_mode: host}
networks:
  front: {}
  back: {}
"""
ADDRESSES = {"web": ["10.1.0.3"], "db": ["10.2.0.2"], "proxy": ["10.1.0.2"]}


def plan_of(tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    return plan_project(load_project([str(tmp_path / "compose.yaml")], project_name="p",
                                     environ={}))


def probe_with(scoped: Mapping[str, set[str]], answering: set[str]):  # type: ignore[no-untyped-def]
    """A probe where ``scoped[container]`` are the names it resolves and ``answering``
    the addresses that answer."""
    asked: list[tuple[str, str]] = []

    def probe(container: str, name: str) -> dict[str, Any]:
        asked.append((container, name))
        found = ADDRESSES[name] if name in scoped[container] else []
        return {"Addresses": found, "Reached": [a for a in found if a in answering]}

    return probe, asked


def test_every_probed_cell_agrees_when_the_network_does_what_was_planned(
        tmp_path: Path) -> None:
    plan = plan_of(tmp_path)
    running = {"proxy": "p-proxy-1", "web": "p-web-1", "db": "p-db-1", "tool": "p-tool-1"}
    probe, asked = probe_with({"p-proxy-1": {"web"}, "p-web-1": {"proxy", "db"},
                               "p-db-1": {"web"}}, {"10.1.0.3", "10.1.0.2", "10.2.0.2"})
    checks = verify(plan, running, probe)
    probed = {(c.source, c.target): c for c in checks if c.planned is not None}
    assert set(probed) == {(s, t) for s in ("proxy", "web", "db")
                           for t in ("proxy", "web", "db") if s != t}
    assert all(c.agrees for c in checks)
    assert probed[("proxy", "db")].measured is False  # isolated, and planned so
    assert probed[("web", "db")].detail == "db is 10.2.0.2: 10.2.0.2 answered"
    assert ("p-tool-1", "web") not in asked  # network_mode host: not probed
    text = render_checks(checks)
    assert "6 of 6 probed pairs agree with the plan" in text
    assert "not probed" in text


def test_a_cell_that_differs_is_named(tmp_path: Path) -> None:
    plan = plan_of(tmp_path)
    running = {"proxy": "p-proxy-1", "web": "p-web-1"}  # db is not running
    # web resolves db but its packets are dropped
    probe, _ = probe_with({"p-proxy-1": {"web"}, "p-web-1": {"proxy", "db"}}, {"10.1.0.3",
                                                                              "10.1.0.2"})
    checks = {(c.source, c.target): c for c in verify(plan, running, probe)}
    wrong = checks[("web", "db")]
    assert (wrong.planned, wrong.measured, wrong.agrees) == (True, False, False)
    assert wrong.detail == "db is 10.2.0.2: no answer"
    assert checks[("db", "web")].detail == "db has no running container"
    assert not checks[("db", "web")].agrees
    assert "DIFFERS: db is 10.2.0.2: no answer" in render_checks(list(checks.values()))
    as_json = {(d["From"], d["To"]): d for d in checks_to_dicts(list(checks.values()))}
    assert as_json[("web", "db")]["Agrees"] is False
