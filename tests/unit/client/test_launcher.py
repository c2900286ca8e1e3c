"""The lean ``dockyard`` launcher that scripts/install.sh writes in place of pip's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dockyard.cli.launcher import launcher_text, write_launcher
from tests.unit.client import run_bare


def test_launcher_skips_site_and_still_finds_dockyard_and_its_dependencies(
        tmp_path: Path) -> None:
    path = tmp_path / "dockyard"
    write_launcher(str(path))
    text = path.read_text()
    assert text.startswith(f"#!{sys.executable} -S\n")
    out = subprocess.run([str(path), "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "Usage:  dockyard [OPTIONS] COMMAND" in out.stdout
    # Third-party packages (the daemon's aiohttp) are found without site's help.
    probe = text.replace("from dockyard.cli.main import entry\nentry()\n",
                         "import aiohttp, yaml\nprint(sys.flags.no_site)\n"
                         "print(sys.path)\n")
    (tmp_path / "probe").write_text(probe)
    # A module beside the launcher is not importable: its directory is not on the path.
    (tmp_path / "yaml.py").write_text("raise SystemExit('shadowed')\n")
    out = subprocess.run([sys.executable, "-S", str(tmp_path / "probe")], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    no_site, search_path = out.stdout.splitlines()
    assert no_site == "1"
    assert str(tmp_path) not in search_path


def test_launcher_names_the_interpreter_it_was_asked_for() -> None:
    assert launcher_text("/opt/py/bin/python3").startswith("#!/opt/py/bin/python3 -S\n")


def test_common_commands_import_no_heavy_stdlib_modules(tmp_path: Path) -> None:
    # Each of these costs 0.5-5 ms of every command at this machine's speed (os alone ~2 ms:
    # it builds _collections_abc; __future__, and _json as a shared library, ~0.5 ms each).
    probe = tmp_path / "probe"
    probe.write_text(
        launcher_text(sys.executable).replace(
            "from dockyard.cli.main import entry\nentry()\n",
            "from dockyard.cli.main import main\n"
            "for argv in sys.argv[1:]:\n"
            "    main(['--host', 'unix:///nonexistent/dockyard.sock', *argv.split()])\n"
            "heavy = ('os', '_collections_abc', 're', 'json', 'typing', 'enum', 'socket',\n"
            "         '__future__', '_json')\n"
            "print(' '.join(m for m in heavy if m in sys.modules))\n"))
    commands = ["network create --label a=b net1", "network rm net1", "network ls",
                "run -d --network net1 -e A=1 -p 8080:80 --name web busybox sleep 60",
                "rm -f web", "ps", "images", "image inspect busybox", "exec web true",
                "run --rm busybox true"]
    out = subprocess.run([sys.executable, "-S", str(probe), *commands], capture_output=True,
                         text=True, timeout=30)
    assert out.stderr.count("Cannot connect to the Dockyard daemon") == len(commands), out.stderr
    assert out.stdout.strip() == ""


def test_an_attached_session_without_stdin_starts_no_thread() -> None:
    # An attached `run` without -i only reads the output; importing threading (and the
    # ~8 modules it pulls in) would cost ~5 ms while the container runs.
    probe = (
        "import sys\n"
        "from dockyard.cli.interactive import session\n"
        "class Stream:\n"
        "    def frames(self):\n"
        "        yield 1, b'out\\n'\n"
        "        yield 2, b'err\\n'\n"
        "print(session(Stream(), stdin=False, tty=False), 'threading' in sys.modules)\n")
    out = run_bare(probe)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["out", "False False"]
    assert out.stderr == "err\n"
