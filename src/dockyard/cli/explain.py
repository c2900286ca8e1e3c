"""``dockyard explain [CONTAINER...]``: who can reach whom among the running containers,
why (Docker's rules, :mod:`dockyard.explain`), and each answer checked from inside the
source container by the daemon (a name resolved, an address pinged). Exits 1 when a
check disagrees with the rules: the network is not doing what its configuration says."""

import sys

from dockyard.cli.context import Context, daemon_error, parse_or_usage
from dockyard.cli.flags import Flag
from dockyard.client.http import APIError, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.explain import Box, Verdict


def explain(ctx: Context, args: "list[str]") -> int:
    opts, names = parse_or_usage(
        "explain", "dockyard explain [OPTIONS] [CONTAINER...]",
        "Show who can reach whom among running containers, why, and check it",
        [Flag(("--no-probe",), "no_probe", "bool", help="Only reason from the "
              "configuration; send no packets")], args)
    from dockyard.explain import box_of, verdicts

    client = ctx.client()
    try:
        listed = client.request("GET", "/containers/json").json() or []
        docs = [client.request("GET", f"/containers/{quote(c['Id'])}/json").json()
                for c in listed]
    except APIError as err:
        return daemon_error(err)
    names_by_id = {d["Id"]: d["Name"].lstrip("/") for d in docs}
    names_by_id.update({i[:12]: n for i, n in list(names_by_id.items())})
    boxes = [box_of(d, names_by_id) for d in docs]
    known = {b.name for b in boxes}
    missing = [n for n in names if n not in known]
    if missing:
        print(f"Error: no running container named {missing[0]}", file=sys.stderr)
        return 1
    chosen = [b for b in boxes if not names or b.name in names]
    results = [v for v in verdicts(boxes)
               if v.source in {b.name for b in chosen} and v.target in {b.name for b in chosen}]
    checked = {} if opts["no_probe"] else _check(client, results)
    sys.stdout.write(_render(chosen, results, checked))
    return 0 if all(results[i].reachable == ok for i, (ok, _) in checked.items()) else 1


def _check(client: "Any", results: "list[Verdict]") -> "dict[int, tuple[bool, str]]":
    """Index of each verdict that could be checked -> (whether the packets got through,
    what the check saw). The checks run side by side: one that gets no answer waits
    out its timeout (half a second: a bridge answers in well under a millisecond)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(v: "Verdict") -> "tuple[bool, str] | None":
        body: dict[str, Any] = (
            {"Name": v.probe_name} if v.probe_name else {"Address": v.probe_address})
        body["Timeout"] = 0.5
        try:
            answer = client.request("POST", f"/containers/{quote(v.source)}/dockyard-probe",
                                    json_body=body).json()
        except APIError:
            return None
        return bool(answer.get("Reached")), _detail(v, answer)

    todo = [(i, v) for i, v in enumerate(results) if v.probe_name or v.probe_address]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda item: one(item[1]), todo))
    return {i: a for (i, _), a in zip(todo, answers, strict=True) if a is not None}


def _detail(v: "Verdict", answer: "dict[str, Any]") -> str:
    addresses, reached = answer.get("Addresses") or [], answer.get("Reached") or []
    if v.probe_name and not addresses:
        return f"{v.probe_name} does not resolve"
    what = f"{v.probe_name} is {', '.join(addresses)}" if v.probe_name else ", ".join(addresses)
    return f"{what}: {'answered' if reached else 'no answer'}"


def _render(boxes: "list[Box]", results: "list[Verdict]",
            checked: "dict[int, tuple[bool, str]]") -> str:
    lines = ["Containers"]
    width = max([len(b.name) for b in boxes] + [4])
    for b in boxes:
        where = (", ".join(f"{net} {ip}" for net, ip in b.addresses.items())
                 if b.mode == "networks" else
                 f"shares {b.owner}'s network namespace" if b.mode == "container" else
                 f"--network {b.mode}")
        lines.append(f"  {b.name.ljust(width)}  {where}")
    if len(boxes) < 2:
        lines.append("  only one container: nothing to reach")
        return "\n".join(lines) + "\n"
    index = {(v.source, v.target): i for i, v in enumerate(results)}
    cols = [str(i + 1) for i in range(len(boxes))]
    lines += ["", "Reachability (row reaches column; ! where the check disagrees)",
              f"  {' ' * (width + 4)}" + " ".join(c.rjust(4) for c in cols)]
    for n, src in enumerate(boxes):
        cells = []
        for dst in boxes:
            if dst is src:
                cells.append("-")
                continue
            i = index[(src.name, dst.name)]
            cell = "yes" if results[i].reachable else "no"
            cells.append(cell + ("!" if i in checked and checked[i][0] != results[i].reachable
                                 else ""))
        lines.append(f"  {cols[n].rjust(2)} {src.name.ljust(width)} "
                     + " ".join(c.rjust(4) for c in cells))
    lines += ["", "Why (each checked from inside the row's container)"]
    for i, v in enumerate(results):
        check = ""
        if i in checked:
            got, seen = checked[i]
            check = f" [{'ok' if got == v.reachable else 'DIFFERS'}: {seen}]"
        elif not v.probe_name and not v.probe_address:
            check = " [not checked]"
        lines.append(f"  {v.source} -> {v.target}: {'yes' if v.reachable else 'no'}, "
                     f"{v.reason}{check}")
    if checked:
        wrong = sum(1 for i, (got, _) in checked.items() if got != results[i].reachable)
        lines.append(f"{len(checked) - wrong} of {len(checked)} checks agree"
                     + (f"; {wrong} differ" if wrong else ""))
    return "\n".join(lines) + "\n"
