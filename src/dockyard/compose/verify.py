"""``compose plan --verify``: the plan's reachability matrix held against the running
project.

For each pair of services on ordinary networks, the source's first running container asks
its resolver for the target's name and pings every address it gets
(``POST /containers/{id}/dockyard-probe``: the daemon does it from inside the container's
namespace, so the image needs no tools). The pair is reachable by name when some address
answers. Each cell is then the plan's word against what the packets did; pairs the plan
answers in other terms (``network_mode`` host, none, bridge, or a shared namespace) are
listed as not probed.

Pure: the probe and the running containers are handed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.compose.plan_model import Plan

# (container, name) -> the probe's answer: {"Addresses": [...], "Reached": [...]}
Probe = Callable[[str, str], Mapping[str, Any]]


@dataclass(frozen=True)
class Check:
    source: str
    target: str
    planned: bool | None  # None: a pair this check does not probe
    measured: bool | None
    detail: str

    @property
    def agrees(self) -> bool:
        return self.planned is None or self.planned == self.measured


def verify(plan: Plan, running: Mapping[str, str], probe: Probe) -> list[Check]:
    """``running``: service → the name of its first running container."""
    checks = []
    for reach in plan.reachability:
        source, target = plan.service(reach.source), plan.service(reach.target)
        if source.network_mode is not None or target.network_mode is not None:
            checks.append(Check(reach.source, reach.target, None, None,
                                "not probed: " + reach.reason))
            continue
        container = running.get(reach.source)
        if container is None:
            checks.append(Check(reach.source, reach.target, reach.reachable, None,
                                f"{reach.source} has no running container"))
            continue
        answer = probe(container, reach.target)
        addresses = list(answer.get("Addresses") or [])
        reached = list(answer.get("Reached") or [])
        if not addresses:
            detail = f"{reach.target} does not resolve"
        elif reached:
            detail = f"{reach.target} is {', '.join(addresses)}: {', '.join(reached)} answered"
        else:
            detail = f"{reach.target} is {', '.join(addresses)}: no answer"
        checks.append(Check(reach.source, reach.target, reach.reachable, bool(reached),
                            detail))
    return checks


def _word(value: bool | None) -> str:
    return "-" if value is None else "reachable" if value else "unreachable"


def render_checks(checks: list[Check]) -> str:
    width = max([len(f"{c.source} -> {c.target}") for c in checks] + [10])
    lines = ["", "VERIFIED (each service's first container asks 127.0.0.11 for the other's "
                 "name, then pings what it gets)",
             f"  {'FROM -> TO':<{width}}  {'PLAN':<11}  {'MEASURED':<11}  DETAIL"]
    for c in checks:
        mark = "" if c.planned is None else "ok" if c.agrees else "DIFFERS"
        lines.append(f"  {c.source + ' -> ' + c.target:<{width}}  {_word(c.planned):<11}  "
                     f"{_word(c.measured):<11}  {mark + ': ' if mark else ''}{c.detail}")
    probed = [c for c in checks if c.planned is not None]
    wrong = [c for c in probed if not c.agrees]
    lines.append(f"{len(probed) - len(wrong)} of {len(probed)} probed pairs agree with the "
                 "plan" + (f"; {len(wrong)} differ" if wrong else ""))
    return "\n".join(lines) + "\n"


def checks_to_dicts(checks: list[Check]) -> list[dict[str, Any]]:
    return [{"From": c.source, "To": c.target, "Planned": c.planned, "Measured": c.measured,
             "Agrees": c.agrees, "Detail": c.detail} for c in checks]
