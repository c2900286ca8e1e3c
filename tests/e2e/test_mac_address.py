"""``--mac-address``: the interface a container gets on a network has the address asked
for, through our CLI, docker-py and the docker CLI, across restarts; a bad one is refused
and leaves nothing behind."""

from __future__ import annotations

import shutil

import pytest

from tests.e2e.daemon import Daemon, ok

pytestmark = pytest.mark.root


def interface_mac(d: Daemon, container: str, ifname: str = "eth0") -> str:
    return ok(d.cli("exec", container, "cat", f"/sys/class/net/{ifname}/address")).strip()


def test_run_with_a_mac_address_keeps_it_across_a_restart(busybox: Daemon) -> None:
    d = busybox
    ok(d.cli("network", "create", "--subnet", "10.81.0.0/24", "lan"))
    ok(d.cli("run", "-d", "--name", "mc", "--network", "lan", "--mac-address",
             "02:AA:BB:CC:DD:01", "busybox", "sleep", "300"))
    assert interface_mac(d, "mc") == "02:aa:bb:cc:dd:01"
    assert ok(d.cli("inspect", "-f", "{{.NetworkSettings.Networks.lan.MacAddress}}", "mc")
              ) == "02:aa:bb:cc:dd:01\n"
    # A second network gets its own, derived from its address, as without the flag.
    ok(d.cli("network", "create", "--subnet", "10.82.0.0/24", "lan2"))
    ok(d.cli("network", "connect", "lan2", "mc"))
    second = interface_mac(d, "mc", "eth1")
    assert second != "02:aa:bb:cc:dd:01" and second.startswith("02:42:0a:52:00:")
    ok(d.cli("restart", "-t", "0", "mc"))
    assert interface_mac(d, "mc") == "02:aa:bb:cc:dd:01"
    # The peer's ARP entry for mc is the address asked for: the packets carry it.
    ip = ok(d.cli("inspect", "-f", "{{.NetworkSettings.Networks.lan.IPAddress}}", "mc")).strip()
    arp = ok(d.cli("run", "--rm", "--network", "lan", "busybox", "sh", "-c",
                   f"ping -c1 -W2 {ip} >/dev/null && cat /proc/net/arp"))
    assert any(row.split()[:1] == [ip] and "02:aa:bb:cc:dd:01" in row
               for row in arp.splitlines())


@pytest.mark.parametrize(("args", "message"), [
    (("--network", "lan", "--mac-address", "03:00:00:00:00:01"),
     "Error response from daemon: invalid MAC address 03:00:00:00:00:01: a multicast "
     "address cannot be an interface's"),
    (("--network", "lan", "--mac-address", "02:00:00:00:01"),
     "Error response from daemon: invalid MAC address 02:00:00:00:01"),
    (("--network", "host", "--mac-address", "02:00:00:00:00:01"),
     "Error response from daemon: conflicting options: mac-address and the network mode "
     "host"),
])
def test_a_bad_mac_address_is_refused_and_makes_no_container(
        busybox: Daemon, args: tuple[str, ...], message: str) -> None:
    d = busybox
    ok(d.cli("network", "create", "lan"))
    refused = d.cli("run", "-d", "--name", "bad", *args, "busybox", "sleep", "300")
    assert refused.returncode == 125
    assert refused.stderr.splitlines()[0] == f"dockyard: {message}"
    assert ok(d.cli("ps", "-aq")) == ""


def test_dockerpy_sets_a_mac_address_at_create_and_at_connect(busybox: Daemon,
                                                              dockerpy: object) -> None:
    import docker

    client: docker.DockerClient = dockerpy  # type: ignore[assignment]
    d = busybox
    client.networks.create("front")
    back = client.networks.create("back")
    config = client.api.create_networking_config({
        "front": client.api.create_endpoint_config(mac_address="02:00:00:00:0f:01")})
    made = client.api.create_container("busybox", "sleep 300", name="py",
                                       networking_config=config,
                                       host_config=client.api.create_host_config(
                                           network_mode="front"))
    client.api.start(made["Id"])
    assert interface_mac(d, "py") == "02:00:00:00:0f:01"
    back.connect("py", mac_address="02:00:00:00:0b:01")
    assert interface_mac(d, "py", "eth1") == "02:00:00:00:0b:01"
    with pytest.raises(docker.errors.APIError) as refused:
        client.networks.get("front").connect("py", mac_address="nonsense")
    assert refused.value.status_code == 400


@pytest.mark.skipif(shutil.which("docker") is None,
                    reason="the docker CLI is not installed on this machine")
def test_docker_cli_run_mac_address(busybox: Daemon) -> None:
    d = busybox
    ok(d.docker("network", "create", "lan"))
    ok(d.docker("run", "-d", "--name", "dk", "--network", "lan", "--mac-address",
                "02:00:00:00:d0:01", "busybox", "sleep", "300"))
    assert interface_mac(d, "dk") == "02:00:00:00:d0:01"
    # On the default bridge too (NetworkMode "default")
    ok(d.docker("run", "-d", "--name", "dk2", "--mac-address", "02:00:00:00:d0:02", "busybox",
                "sleep", "300"))
    assert interface_mac(d, "dk2") == "02:00:00:00:d0:02"
