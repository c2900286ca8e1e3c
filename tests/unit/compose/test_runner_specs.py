"""The API bodies compose sends for a service, a network and a volume."""

from __future__ import annotations

import pytest

from dockyard.compose.specs import (
    container_request,
    network_body,
    restart_policy,
    volume_body,
)
from dockyard.errors import InvalidParameter

from .conftest import Load, Write


def test_container_body_carries_every_service_setting(write: Write, load: Load) -> None:
    write("compose.yaml", """
        services:
          app:
            image: busybox
            command: ["sh", "-c", "echo hi"]
            entrypoint: /init
            environment: {A: "1", UNSET: null}
            expose: ["3000-3001", "53/udp"]
            ports: ["127.0.0.1:8080:80/tcp"]
            volumes: ["./data:/data:ro", {type: tmpfs, target: /tmp}]
            extra_hosts: ["db.local:10.0.0.5"]
            dns: [10.0.0.53]
            hostname: apphost
            working_dir: /srv
            user: "1000"
            restart: on-failure:3
            stop_grace_period: 20s
            healthcheck: {test: "true", interval: 5s, retries: 2}
            labels: {tier: web}
        """)
    project = load(project_name="p")
    body = container_request(project, project.services["app"], 1).body
    assert body["Cmd"] == ["sh", "-c", "echo hi"] and body["Entrypoint"] == ["/init"]
    assert body["Env"] == ["A=1"]
    assert set(body["ExposedPorts"]) == {"3000/tcp", "3001/tcp", "53/udp", "80/tcp"}
    host = body["HostConfig"]
    assert host["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}
    assert host["Mounts"][0]["Type"] == "bind" and host["Mounts"][0]["ReadOnly"] is True
    assert host["Mounts"][0]["Source"].endswith("/data")
    assert host["Mounts"][1] == {"Type": "tmpfs", "Target": "/tmp"}
    assert host["ExtraHosts"] == ["db.local:10.0.0.5"] and host["Dns"] == ["10.0.0.53"]
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert (body["Hostname"], body["WorkingDir"], body["User"]) == ("apphost", "/srv", "1000")
    assert body["StopTimeout"] == 20
    assert body["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000,
                                   "Retries": 2}
    assert body["Labels"]["tier"] == "web"
    assert body["Labels"]["com.docker.compose.project.working_dir"] == project.working_dir
    assert host["NetworkMode"] == "p_default"


def test_network_and_volume_bodies(write: Write, load: Load) -> None:
    write("compose.yaml", """
        services:
          a: {image: busybox, networks: [n], volumes: ["v:/v"]}
        networks:
          n:
            driver_opts: {com.docker.network.bridge.name: br-n}
            internal: true
            attachable: true
            enable_ipv6: true
            labels: {x: "1"}
            ipam:
              config:
                - subnet: 10.9.0.0/24
                  gateway: 10.9.0.1
                  ip_range: 10.9.0.128/25
                  aux_addresses: {r: 10.9.0.2}
        volumes:
          v: {name: shared-v, labels: {y: "2"}}
        """)
    project = load(project_name="p")
    net = network_body(project, project.networks["n"])
    assert net["Name"] == "p_n" and net["Driver"] == "bridge"
    assert net["Options"] == {"com.docker.network.bridge.name": "br-n"}
    assert (net["Internal"], net["Attachable"], net["EnableIPv6"]) == (True, True, True)
    assert net["IPAM"]["Config"] == [{"Subnet": "10.9.0.0/24", "Gateway": "10.9.0.1",
                                      "IPRange": "10.9.0.128/25",
                                      "AuxiliaryAddresses": {"r": "10.9.0.2"}}]
    assert net["Labels"]["x"] == "1" and net["Labels"]["com.docker.compose.network"] == "n"
    vol = volume_body(project, project.volumes["v"])
    assert vol["Name"] == "shared-v" and vol["Labels"]["com.docker.compose.volume"] == "v"
    mounts = container_request(project, project.services["a"], 1).body["HostConfig"]["Mounts"]
    assert mounts == [{"Type": "volume", "Target": "/v", "Source": "shared-v"}]


def test_restart_policy_errors_name_the_value() -> None:
    assert restart_policy("unless-stopped") == {"Name": "unless-stopped"}
    with pytest.raises(InvalidParameter, match='invalid restart policy "sometimes"'):
        restart_policy("sometimes")


@pytest.mark.parametrize(("sysctls", "tmpfs"), [
    ('["net.core.somaxconn=1024", "net.ipv4.tcp_syncookies=0"]', '["/run:size=1m", "/tmp"]'),
    ("{net.core.somaxconn: 1024, net.ipv4.tcp_syncookies: 0}", '"/run:size=1m"'),
])
def test_sysctls_and_tmpfs_in_either_form_become_the_apis_maps(
        write: Write, load: Load, sysctls: str, tmpfs: str) -> None:
    write("compose.yaml", f"""
        services:
          app: {{image: busybox, read_only: true, sysctls: {sysctls}, tmpfs: {tmpfs}}}
        """)
    project = load(project_name="p")
    host = container_request(project, project.services["app"], 1).body["HostConfig"]
    assert host["Sysctls"] == {"net.core.somaxconn": "1024", "net.ipv4.tcp_syncookies": "0"}
    assert host["Tmpfs"]["/run"] == "size=1m" and host["ReadonlyRootfs"] is True
