"""``dockyard explain``: who reaches whom among running containers, why, and each answer
checked by packets sent from inside the containers."""

from __future__ import annotations

import pytest

from tests.e2e.daemon import Daemon, ok

pytestmark = pytest.mark.root


def why(output: str) -> dict[str, str]:
    """"a -> b" -> the rest of its Why line."""
    section = output.split("Why (", 1)[1]
    return {line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip()
            for line in section.splitlines()[1:] if " -> " in line}


def test_explain_reasons_and_checks_every_pair(busybox: Daemon) -> None:
    d = busybox
    for net in ("front", "back"):
        ok(d.cli("network", "create", net))
    run = ("run", "-d")
    ok(d.cli(*run, "--name", "web", "--network", "front", "busybox", "sleep", "60"))
    ok(d.cli("network", "connect", "back", "web"))
    ok(d.cli(*run, "--name", "db", "--network", "back", "busybox", "sleep", "60"))
    ok(d.cli(*run, "--name", "proxy", "--cap-add", "NET_ADMIN", "--network", "front",
             "busybox", "sleep", "60"))
    ok(d.cli(*run, "--name", "old", "busybox", "sleep", "60"))  # the default bridge
    ok(d.cli(*run, "--name", "side", "--network", "container:web", "busybox", "sleep", "60"))
    ok(d.cli(*run, "--name", "tool", "--network", "host", "busybox", "sleep", "60"))
    ok(d.cli(*run, "--name", "alone", "--network", "none", "busybox", "sleep", "60"))

    result = d.cli("explain")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = why(result.stdout)
    assert lines["proxy -> web"].startswith("yes, by name via front [ok: web is ")
    assert lines["proxy -> db"].startswith("no, no shared network (proxy: front; db: back)")
    assert lines["proxy -> db"].endswith(": no answer]")  # the firewall did drop it
    assert lines["old -> web"].startswith("no, no shared network")
    assert "by web's name via front" in lines["proxy -> side"]  # no DNS name of its own
    assert lines["tool -> db"].startswith("yes, the host reaches db at its address")
    assert lines["db -> tool"].endswith("answered]")  # the host, at db's gateway
    assert lines["alone -> web"] == "no, alone has no network (--network none) [not checked]"
    # 42 ordered pairs, less the 12 with "alone" and the 2 on one namespace (localhost)
    assert "28 of 28 checks agree" in result.stdout

    only = ok(d.cli("explain", "--no-probe", "web", "db"))
    assert set(why(only)) == {"web -> db", "db -> web"} and "[ok" not in only

    # the network stops doing what its configuration says: explain shows where
    ok(d.cli("exec", "proxy", "ip", "link", "set", "eth0", "down"))
    broken = d.cli("explain", "proxy", "web")
    assert broken.returncode == 1
    assert why(broken.stdout)["proxy -> web"].startswith("yes, by name via front [DIFFERS")
    assert "yes!" in broken.stdout  # marked in the matrix too

    missing = d.cli("explain", "nobody")
    assert (missing.returncode, missing.stderr) == (1, "Error: no running container named "
                                                       "nobody\n")
