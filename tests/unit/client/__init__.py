"""Unit tests of the CLI's client side."""

import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).parents[3] / "src")


def run_bare(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter started as the ``dockyard`` launcher starts it (no
    site), with only the source tree on its path: what it imports is what a command would."""
    return subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          timeout=30, env={"PYTHONPATH": SRC})
