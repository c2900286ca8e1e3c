"""Docker's table layout, human sizes and ages, and ``--format`` handling (pure)."""

import time

from dockyard.humanize import human_duration

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any


def tabwrite(rows: "Sequence[Sequence[str]]", minwidth: int = 10, padding: int = 3) -> str:
    """Go's ``tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`` as the docker CLI uses it: every
    column but the last is as wide as its widest cell plus 3, and at least 10."""
    if not rows:
        return ""
    columns = max(len(r) for r in rows)
    widths = [0] * columns
    for row in rows:
        for index, cell in enumerate(row[:-1]):
            widths[index] = max(widths[index], len(cell) + padding, minwidth)
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("".join(cells) + (row[-1] if row else ""))
    return "\n".join(lines) + "\n"


def human_size(size: float, precision: int = 3) -> str:
    """go-units ``HumanSizeWithPrecision(size, precision)``: decimal units, 3 significant
    digits by default (``docker images``); ``HumanSize`` is precision 4."""
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    index = 0
    while size >= 1000 and index < len(units) - 1:
        size /= 1000.0
        index += 1
    text = f"{size:.{precision}g}"
    if "e" in text:
        text = f"{size:.0f}"
    return f"{text}{units[index]}"


def ago(timestamp: float, now: float | None = None) -> str:
    return human_duration((now or time.time()) - timestamp) + " ago"


def render_rows(fmt: str, rows: "Sequence[Mapping[str, Any]]", headers: "Mapping[str, str]"
                ) -> str:
    """``--format``: ``table …`` gets a header row and tab alignment; anything else is one
    template line per row. The default tables skip the template engine (its import and
    regular expressions cost more than the request)."""
    default = _plain_table(fmt, rows, headers)
    if default is not None:
        return default
    from dockyard.cli.template import render

    if fmt.startswith("table"):
        body = fmt[len("table"):].strip() or "\t".join("{{." + k + "}}" for k in headers)
        body = body.replace("\\t", "\t")
        header = render(body, {k: headers.get(k, k.upper()) for k in _fields(body, headers)})
        lines = [header.split("\t")]
        lines += [render(body, dict(r)).split("\t") for r in rows]
        return tabwrite(lines)
    fmt = fmt.replace("\\t", "\t").replace("\\n", "\n")
    return "".join(render(fmt, dict(r)) + "\n" for r in rows)


def _plain_table(fmt: str, rows: "Sequence[Mapping[str, Any]]", headers: "Mapping[str, str]"
                 ) -> str | None:
    """A ``table {{.A}}\t{{.B}}`` format of bare fields, filled in without templates."""
    if not fmt.startswith("table "):
        return None
    cells = fmt[len("table "):].replace("\\t", "\t").split("\t")
    names = []
    for cell in cells:
        cell = cell.strip()
        if not (cell.startswith("{{.") and cell.endswith("}}")) or not cell[3:-2].isidentifier():
            return None
        names.append(cell[3:-2])
    if any(name not in headers for name in names):
        return None
    table = [[headers[name] for name in names]]
    table += [[str(row.get(name, "")) for name in names] for row in rows]
    return tabwrite(table)


def _fields(body: str, headers: "Mapping[str, str]") -> list[str]:
    import re

    names = re.findall(r"\{\{\s*\.(\w+)", body)
    return names or list(headers)
