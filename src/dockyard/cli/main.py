"""Entry point of the `dockyard` command."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("version", "--version"):
        from dockyard import __version__

        print(f"Dockyard version {__version__}")
        return 0
    if args and args[0] == "demo":
        from dockyard.cli.demo import run_demo

        return run_demo(keep="--keep" in args[1:])
    print("usage: dockyard {demo [--keep] | version}", file=sys.stderr)
    return 2
