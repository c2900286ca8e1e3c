"""``compose ps`` and ``compose ls`` tables from the API's container list (pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from dockyard.cli.output import ago, tabwrite
from dockyard.compose.model import PROJECT_LABEL, SERVICE_LABEL
from dockyard.compose.specs import CONFIG_FILES_LABEL


def ports_text(ports: Sequence[Mapping[str, Any]]) -> str:
    """``0.0.0.0:8080->80/tcp, 53/udp`` as the docker CLI prints a container's ports."""
    parts = []
    for port in sorted(ports, key=lambda p: (p.get("PrivatePort", 0), p.get("IP", ""))):
        target = f"{port.get('PrivatePort')}/{port.get('Type', 'tcp')}"
        if port.get("PublicPort"):
            host_ip = port.get("IP") or "0.0.0.0"
            host = f"[{host_ip}]" if ":" in host_ip else host_ip
            parts.append(f"{host}:{port['PublicPort']}->{target}")
        else:
            parts.append(target)
    return ", ".join(dict.fromkeys(parts))


def _name(doc: Mapping[str, Any]) -> str:
    names = doc.get("Names") or [""]
    return str(names[0]).lstrip("/")


def ps_table(docs: Sequence[Mapping[str, Any]], *, now: float | None = None) -> str:
    rows = [["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"]]
    for doc in sorted(docs, key=_name):
        command = str(doc.get("Command") or "")
        if len(command) > 20:
            command = command[:19] + "…"
        rows.append([_name(doc), str(doc.get("Image", "")), json.dumps(command, ensure_ascii=False),
                     (doc.get("Labels") or {}).get(SERVICE_LABEL, ""),
                     ago(float(doc.get("Created", 0)), now), str(doc.get("Status", "")),
                     ports_text(doc.get("Ports") or [])])
    return tabwrite(rows)


def ps_json(docs: Sequence[Mapping[str, Any]]) -> str:
    """One JSON object per line, as ``docker compose ps --format json`` prints."""
    lines = []
    for doc in sorted(docs, key=_name):
        labels = doc.get("Labels") or {}
        lines.append(json.dumps({
            "ID": doc.get("Id", ""), "Name": _name(doc), "Image": doc.get("Image", ""),
            "Command": doc.get("Command", ""), "Project": labels.get(PROJECT_LABEL, ""),
            "Service": labels.get(SERVICE_LABEL, ""), "State": doc.get("State", ""),
            "Status": doc.get("Status", ""), "Publishers": [
                {"URL": p.get("IP", ""), "TargetPort": p.get("PrivatePort"),
                 "PublishedPort": p.get("PublicPort", 0), "Protocol": p.get("Type", "tcp")}
                for p in doc.get("Ports") or []],
            "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items()))}))
    return "".join(f"{line}\n" for line in lines)


def project_rows(docs: Sequence[Mapping[str, Any]], *, all_projects: bool = False
                 ) -> list[tuple[str, str, str]]:
    """``(name, status, config files)`` per project; status counts states as compose does
    (``running(2), exited(1)``). Without ``all_projects``, projects with nothing running
    are left out."""
    states: dict[str, dict[str, int]] = {}
    files: dict[str, str] = {}
    for doc in docs:
        labels = doc.get("Labels") or {}
        project = labels.get(PROJECT_LABEL)
        if not project:
            continue
        state = str(doc.get("State") or "unknown")
        counts = states.setdefault(project, {})
        counts[state] = counts.get(state, 0) + 1
        files.setdefault(project, labels.get(CONFIG_FILES_LABEL, ""))
    rows = []
    for project in sorted(states):
        counts = states[project]
        if not all_projects and not counts.get("running"):
            continue
        status = ", ".join(f"{s}({n})" for s, n in sorted(counts.items()))
        rows.append((project, status, files[project]))
    return rows


def ls_table(rows: Sequence[tuple[str, str, str]]) -> str:
    return tabwrite([["NAME", "STATUS", "CONFIG FILES"], *[list(r) for r in rows]])
