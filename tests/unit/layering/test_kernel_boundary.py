"""Only ``dockyard.kernel`` may touch the system's networking: netlink, nftables, setns."""

from __future__ import annotations

import ast
from pathlib import Path

import dockyard

SRC = Path(dockyard.__file__).parent
FORBIDDEN_MODULES = {"pyroute2", "ctypes"}
FORBIDDEN_NAMES = {"setns", "unshare", "nft_run_cmd_from_buffer"}


def _offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        else:
            if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_NAMES:
                found.append(f"{path.name}:{node.lineno} uses {node.attr}")
            continue
        found += [f"{path.name}:{node.lineno} imports {n}" for n in names
                  if n.split(".")[0] in FORBIDDEN_MODULES]
    return found


def test_nothing_outside_kernel_touches_netlink_nftables_or_namespaces() -> None:
    offences = []
    for path in sorted(SRC.rglob("*.py")):
        if path.relative_to(SRC).parts[0] == "kernel":
            continue
        offences += _offences(path)
    assert offences == []


def test_the_check_catches_an_offender(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import ctypes\nfrom pyroute2 import IPRoute\nlibc.setns(3, 0)\n")
    assert len(_offences(bad)) == 3
