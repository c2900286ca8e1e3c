"""Processes inside a sandbox's network namespace (until the container runtime lands)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence


def spawn_in_netns(netns: str | None, argv: Sequence[str]) -> subprocess.Popen[bytes]:
    prefix = ["nsenter", f"--net={netns}"] if netns else []
    return subprocess.Popen([*prefix, *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def run_in_netns_cmd(
    netns: str | None, argv: Sequence[str], timeout: float = 10
) -> subprocess.CompletedProcess[str]:
    prefix = ["nsenter", f"--net={netns}"] if netns else []
    return subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=timeout)
