"""Write the ``dockyard`` command: a lean launcher in place of pip's console script.

Why: a CLI command is a new interpreter each time, and what it does before ``main`` is
most of what a user waits for. pip's wrapper runs ``site`` (every ``.pth`` file in the
environment, setuptools' distutils hack, the editable-install finder: ~4 ms here) and
imports ``re`` for one substitution. This launcher starts Python with ``-S`` and puts on
``sys.path`` the directories ``site`` would have found for this environment, written in
at install time. The script's own directory, which Python puts first on ``sys.path``, is
left off: every import the source tree misses would look there first, and a stray ``.py``
beside the script would shadow the standard library.

Usage: ``python -m dockyard.cli.launcher PATH`` (``scripts/install.sh`` does it).
"""

import os
import sys
import sysconfig

import dockyard

TEMPLATE = """#!{python} -S
# Dockyard's command, written by `python -m dockyard.cli.launcher` (see that module):
# -S skips site's start-up work; the paths it would have added are listed here instead.
# They replace sys.path[0], this script's directory, which holds no modules.
import sys
sys.path[:1] = {front!r}
sys.path.extend({back!r})
from dockyard.cli.main import entry
entry()
"""


def launcher_text(python: str | None = None) -> str:
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(dockyard.__file__)))
    paths = sysconfig.get_paths()
    site_dirs = []
    for key in ("purelib", "platlib"):
        if paths[key] not in site_dirs:
            site_dirs.append(paths[key])
    # An editable install runs from the source tree: that goes first, as its finder would.
    front = [] if package_parent in site_dirs else [package_parent]
    return TEMPLATE.format(python=python or sys.executable, front=front, back=site_dirs)


def write_launcher(path: str, python: str | None = None) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(launcher_text(python))
    os.chmod(tmp, 0o755)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m dockyard.cli.launcher PATH", file=sys.stderr)
        return 2
    write_launcher(args[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
