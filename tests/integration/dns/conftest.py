"""Fixtures for the resolver's integration tests: real namespaces, a stub upstream."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Callable, Iterator

import pytest

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces")


@pytest.fixture
def make_netns() -> Iterator[Callable[[], str]]:
    """Create namespaces named dydns-<random> with lo up; all are deleted afterwards."""
    created: list[str] = []

    def make() -> str:
        name = f"dydns-{secrets.token_hex(4)}"
        subprocess.run(["ip", "netns", "add", name], check=True)
        created.append(name)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        return name

    try:
        yield make
    finally:
        for name in created:
            subprocess.run(["ip", "netns", "delete", name], check=False)
