"""The daemon's embedded resolver: names served in sandboxes it manages, the host's
loopback resolver as upstream, and resolvers back for adopted sandboxes after a restart.

Containers are not served by the API yet, so bare sandboxes (made on the daemon's state
root, connected through the API) stand in for them; ``dig`` runs in their namespaces.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import make_sandbox
from tests.e2e.daemon import Daemon, ok
from tests.integration.dns.netns_loop import loop_in
from tests.integration.dns.stub_upstream import EXT_ADDRESS, StubUpstream
from tests.integration.hosts import run_in

pytestmark = pytest.mark.root


def dig(netns: str, name: str) -> tuple[str, list[str]]:
    """(status, answers) of an A query to 127.0.0.11 from inside ``netns``."""
    out = run_in(netns, ["dig", "@127.0.0.11", "+time=1", "+tries=1", "+noall", "+comments",
                         "+answer", "-q", name, "-t", "A"]).stdout
    status = "no answer"
    for line in out.splitlines():
        if "status:" in line:
            status = line.split("status:")[1].split(",")[0].strip()
    answers = [line.split()[-1] for line in out.splitlines()
               if line and not line.startswith(";")]
    return status, answers


def test_daemon_serves_names_forwards_and_readopts_after_restart(daemon: Daemon) -> None:
    host = daemon.host
    with loop_in(host.netns) as inside:
        stub = StubUpstream("127.0.0.1", 53)  # the host's "nameserver 127.0.0.1"
        inside.run(stub.start())
        try:
            web = make_sandbox(daemon, "web")
            client = make_sandbox(daemon, "client")
            assert web.netns and client.netns
            ok(daemon.cli("network", "create", "--subnet", "10.79.0.0/24", "app"))
            ok(daemon.cli("network", "connect", "--alias", "www", "--ip", "10.79.0.5", "app",
                          "web"))
            ok(daemon.cli("network", "connect", "app", "client"))
            assert dig(client.netns, "web") == ("NOERROR", ["10.79.0.5"])
            assert dig(client.netns, "www") == ("NOERROR", ["10.79.0.5"])
            assert stub.queries == 0
            assert dig(client.netns, "ext.example") == ("NOERROR", [EXT_ADDRESS])
            assert dig(client.netns, "missing.example") == ("NXDOMAIN", [])
            assert stub.queries == 2
            with open(f"{host.root}/sandboxes/{client.id}/resolv.conf") as f:
                assert "# ExtServers: [host(127.0.0.1)]" in f.read()

            daemon.stop()  # live restore: the sandboxes stay, their resolver goes with us
            assert dig(client.netns, "web") == ("no answer", [])
            daemon.start()
            assert dig(client.netns, "web") == ("NOERROR", ["10.79.0.5"])
            assert dig(web.netns, "client")[1]  # every adopted sandbox is served again
            ok(daemon.cli("network", "disconnect", "app", "web"))
            assert dig(client.netns, "web") == ("NXDOMAIN", [])  # upstream's answer now
        finally:
            inside.run(stub.stop())
