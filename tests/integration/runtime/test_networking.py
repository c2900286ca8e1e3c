"""Network modes wired to containers: user networks, published ports, container: mode."""

from __future__ import annotations

import pytest

from dockyard.engine import Engine
from dockyard.runtime import ContainerManager, ContainerSpec
from tests.integration.hosts import Host, http_get, wait_for

pytestmark = pytest.mark.root

HTTPD = ("sh", "-c", "mkdir -p /www && echo hello from $HOSTNAME > /www/index.html && "
         "exec httpd -f -p 80 -h /www")


def listening(manager: ContainerManager, ref: str, port: int) -> bool:
    out = manager.exec(ref, ["netstat", "-ltn"]).stdout.decode()
    return f":{port} " in out


def test_two_containers_on_one_network_reach_each_other(manager: ContainerManager,
                                                        engine: Engine) -> None:
    engine.create_network("appnet")
    web = manager.run(ContainerSpec("busybox", name="web", cmd=HTTPD, network_mode="appnet",
                                    hostname="web", aliases=("www",)))
    wait_for(lambda: listening(manager, "web", 80), what="httpd")
    net = manager.inspect(web.id)["NetworkSettings"]["Networks"]["appnet"]
    assert net["IPAddress"].startswith("172.18.0.") and net["IPPrefixLen"] == 16
    assert net["Gateway"] == "172.18.0.1"
    assert net["MacAddress"].startswith("02:42:")
    assert net["Aliases"] == ["www"]
    assert net["DNSNames"] == ["web", "www", web.id[:12]]
    client = manager.run(ContainerSpec("busybox", cmd=(
        "wget", "-q", "-O", "-", f"http://{net['IPAddress']}/"), network_mode="appnet"))
    assert manager.wait(client.id, timeout=10) == 0
    assert "".join(r.data for r in manager.logs(client.id)) == "hello from web\n"


def test_published_port_reached_from_the_host(manager: ContainerManager, host: Host) -> None:
    web = manager.run(ContainerSpec("busybox", cmd=HTTPD, publish=("8080:80",)))
    wait_for(lambda: listening(manager, web.id, 80), what="httpd")
    ports = manager.inspect(web.id)["NetworkSettings"]["Ports"]
    assert ports["80/tcp"][0] == {"HostIp": "0.0.0.0", "HostPort": "8080"}
    body = http_get(host.netns, "http://127.0.0.1:8080/") or http_get(
        host.netns, f"http://{manager.inspect(web.id)['NetworkSettings']['Gateway']}:8080/")
    assert body == f"hello from {web.id[:12]}\n"


def test_container_mode_shares_localhost(manager: ContainerManager) -> None:
    first = manager.run(ContainerSpec("busybox", name="first", cmd=(
        "sh", "-c", "mkdir /www; echo shared > /www/index.html; "
                    "exec httpd -f -p 127.0.0.1:8000 -h /www")))
    wait_for(lambda: listening(manager, "first", 8000), what="httpd on 127.0.0.1")
    second = manager.run(ContainerSpec("busybox", cmd=(
        "wget", "-q", "-O", "-", "http://127.0.0.1:8000/"), network_mode="container:first"))
    assert manager.wait(second.id, timeout=10) == 0
    assert "".join(r.data for r in manager.logs(second.id)) == "shared\n"
    assert manager.inspect(second.id)["Config"]["Hostname"] == first.id[:12]


def test_connect_disconnect_running_and_addresses_back_on_restart(
        manager: ContainerManager, engine: Engine) -> None:
    engine.create_network("extra")
    c = manager.run(ContainerSpec("busybox", cmd=("sleep", "60")))
    manager.connect(c.id, "extra", aliases=("side",))
    out = manager.exec(c.id, ["ip", "-4", "-o", "addr"]).stdout.decode()
    assert "eth1" in out and "172.18.0.2" in out
    # The running container's own /etc/hosts (bind-mounted) lists the new address at once.
    hosts = manager.exec(c.id, ["cat", "/etc/hosts"]).stdout.decode()
    assert f"172.18.0.2\t{c.id[:12]}" in hosts
    ip_before = manager.inspect(c.id)["NetworkSettings"]["IPAddress"]
    manager.stop(c.id, timeout=1)
    assert manager.inspect(c.id)["NetworkSettings"]["Networks"]["extra"]["IPAddress"] == ""
    manager.start(c.id)
    doc = manager.inspect(c.id)
    assert doc["NetworkSettings"]["IPAddress"] == ip_before
    assert doc["NetworkSettings"]["Networks"]["extra"]["Aliases"] == ["side"]
    manager.disconnect(c.id, "extra")
    assert "eth1" not in manager.exec(c.id, ["ip", "-o", "link"]).stdout.decode()
    assert set(manager.inspect(c.id)["NetworkSettings"]["Networks"]) == {"bridge"}


def test_host_and_none_modes(manager: ContainerManager, host: Host) -> None:
    none = manager.run(ContainerSpec("busybox", cmd=("ip", "-o", "link"), network_mode="none"))
    manager.wait(none.id, timeout=10)
    links = "".join(r.data for r in manager.logs(none.id))
    assert "lo" in links and "eth0" not in links
    on_host = manager.run(ContainerSpec("busybox", cmd=("ip", "-o", "link"),
                                        network_mode="host"))
    manager.wait(on_host.id, timeout=10)
    seen = "".join(r.data for r in manager.logs(on_host.id))
    assert "dockyard0" in seen  # the (test) host's own bridge
