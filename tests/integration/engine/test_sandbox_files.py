"""What a container would see: /etc/hosts, hostname, resolv.conf; masquerade; host mode; MTU."""

from __future__ import annotations

import os

import pytest

from dockyard.engine import Engine
from tests.integration.hosts import Host, http_get, http_server, link_hosts, make_host, run_in

pytestmark = pytest.mark.root


def _read(engine: Engine, sandbox_id: str, name: str) -> str:
    with open(os.path.join(engine.sandbox_dir(sandbox_id), name)) as f:
        return f.read()


def test_hosts_hostname_and_resolv_conf(engine: Engine, host: Host) -> None:
    with open(os.path.join(host.root, "host-resolv.conf"), "w") as f:
        f.write("nameserver 10.1.2.3\nnameserver 127.0.0.53\nsearch example.test\n")
    engine.create_network("user")
    legacy = engine.create_sandbox("legacy", hostname="old")
    modern = engine.create_sandbox("modern", hostname="new", domainname="corp.test",
                                   extra_hosts=["db.local:10.9.9.9"])
    legacy_ip = engine.connect("bridge", "legacy").ipv4_address
    modern_ip = engine.connect("user", "modern").ipv4_address

    assert _read(engine, legacy.id, "hostname") == "old\n"
    assert f"{legacy_ip}\told\n" in _read(engine, legacy.id, "hosts")
    hosts = _read(engine, modern.id, "hosts")
    assert f"{modern_ip}\tnew.corp.test new\n" in hosts
    assert "10.9.9.9\tdb.local\n" in hosts
    assert hosts.startswith("127.0.0.1\tlocalhost\n")

    # Default bridge: the host's resolvers minus loopback ones, as Docker copies them.
    legacy_resolv = _read(engine, legacy.id, "resolv.conf")
    assert "nameserver 10.1.2.3" in legacy_resolv
    assert "127.0.0.53" not in legacy_resolv.split("#")[0]
    # User-defined network: the embedded resolver, ndots:0, the host's search domains.
    modern_resolv = _read(engine, modern.id, "resolv.conf")
    lines = [line for line in modern_resolv.splitlines() if line and not line.startswith("#")]
    assert lines == ["nameserver 127.0.0.11", "search example.test", "options ndots:0"]


def test_a_change_to_the_hosts_resolv_conf_reaches_later_sandboxes(
    engine: Engine, host: Host
) -> None:
    path = os.path.join(host.root, "host-resolv.conf")
    for server in ("10.1.1.1", "10.2.2.2"):  # same length: only the content differs
        with open(path, "w") as f:
            f.write(f"nameserver {server}\n")
        box = engine.create_sandbox(f"box{server[3]}")
        engine.connect("bridge", box.id)
        assert f"nameserver {server}" in _read(engine, box.id, "resolv.conf")


def test_link_adds_the_target_to_hosts(engine: Engine) -> None:
    target = engine.create_sandbox("db", hostname="dbhost")
    ip = engine.connect("bridge", "db").ipv4_address
    client = engine.create_sandbox("app")
    engine.connect("bridge", "app", links=["db:database"])
    assert f"{ip}\tdatabase dbhost db\n" in _read(engine, client.id, "hosts")
    assert target.name == "db"


@pytest.mark.parametrize("masquerade, reaches", [("true", True), ("false", False)])
def test_masquerade_lets_containers_reach_another_host(
    engine: Engine, host: Host, masquerade: str, reaches: bool
) -> None:
    engine.create_network(
        "out", options={"com.docker.network.bridge.enable_ip_masquerade": masquerade})
    box = engine.create_sandbox("box")
    engine.connect("out", "box")
    with make_host("remote") as remote:
        # The remote host has no route back to 172.18.0.0/16: only a masqueraded request
        # (source rewritten to the host's 10.99.0.1) can be answered.
        link_hosts(host, remote)
        with http_server(remote.netns, 8090, "remote"):
            got = http_get(box.netns, "http://10.99.0.2:8090/", timeout=1)
    assert (got == "remote") is reaches


def test_host_mode_uses_the_host_namespace(engine: Engine, host: Host) -> None:
    box = engine.create_sandbox("h", mode="host")
    ep = engine.connect("host", "h")
    assert box.netns == "" and ep.ifname == "" and ep.ipv4 is None
    assert engine.sandbox("h").ports == ()


def test_mtu_and_bridge_name_options(engine: Engine, host: Host) -> None:
    net = engine.create_network("small", options={"com.docker.network.driver.mtu": "1400",
                                                  "com.docker.network.bridge.name": "br-small"})
    assert net.device == "br-small"
    box = engine.create_sandbox("box")
    engine.connect("small", "box")
    assert "mtu 1400" in host.run(["ip", "link", "show", "br-small"]).stdout
    assert "mtu 1400" in run_in(box.netns, ["ip", "link", "show", "eth0"]).stdout
