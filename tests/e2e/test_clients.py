"""The tools people already have — docker-py and the real docker CLI — against Dockyard."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.e2e.conftest import make_sandbox
from tests.e2e.daemon import Daemon, lines, ok

pytestmark = pytest.mark.root


def test_dockerpy_networks(daemon: Daemon, dockerpy: object) -> None:
    import docker
    from docker.types import IPAMConfig, IPAMPool

    client: docker.DockerClient = dockerpy  # type: ignore[assignment]
    assert client.version()["ApiVersion"] == "1.50"
    assert client.ping() is True
    ipam = IPAMConfig(pool_configs=[IPAMPool(subnet="172.28.0.0/16", iprange="172.28.5.0/24",
                                             gateway="172.28.5.254",
                                             aux_addresses={"a": "172.28.1.5"})])
    net = client.networks.create("dp", driver="bridge", ipam=ipam, labels={"k": "v"},
                                 internal=True)
    assert net.attrs["IPAM"]["Config"] == [{"Subnet": "172.28.0.0/16",
                                            "IPRange": "172.28.5.0/24",
                                            "Gateway": "172.28.5.254",
                                            "AuxiliaryAddresses": {"a": "172.28.1.5"}}]
    assert net.attrs["IPAM"]["Options"] is None
    assert net.attrs["Internal"] is True
    assert [n.name for n in client.networks.list(names=["dp"])] == ["dp"]
    assert [n.id for n in client.networks.list(filters={"label": "k=v"})] == [net.id]

    with pytest.raises(docker.errors.APIError) as dup:
        client.networks.create("dp")
    assert dup.value.status_code == 409
    with pytest.raises(docker.errors.APIError) as host:
        client.networks.create("h2", driver="host")
    assert host.value.status_code == 403

    box = make_sandbox(daemon, "web")
    net.connect(box.id, aliases=["www"])
    net.reload()
    assert list(net.attrs["Containers"]) == [box.id]
    with pytest.raises(docker.errors.APIError):
        net.connect(box.id)
    net.disconnect(box.id)
    with pytest.raises(docker.errors.APIError):
        net.disconnect(box.id)
    net.remove()
    with pytest.raises(docker.errors.NotFound):
        client.networks.get("dp")
    client.networks.create("p1")
    assert client.networks.prune()["NetworksDeleted"] == ["p1"]


def test_dockerpy_images(daemon: Daemon, dockerpy: object, busybox_tar: str) -> None:
    import docker

    client: docker.DockerClient = dockerpy  # type: ignore[assignment]
    out = client.api.import_image(src=busybox_tar, repository="bb", tag="1",
                                  changes=['CMD ["sh"]'])
    image_id = json.loads(out.strip().splitlines()[-1])["status"]
    image = client.images.get("bb:1")
    assert image.id == image_id
    assert image.attrs["Config"]["Cmd"] == ["sh"]
    assert image.tag("bb", "two") is True
    assert sorted(client.images.get(image_id).tags) == ["bb:1", "bb:two"]
    assert [i.id for i in client.images.list()] == [image_id]
    # No registry: a pull of what is stored answers "up to date"; anything else says why.
    assert client.images.pull("bb", tag="1").id == image_id
    with pytest.raises(docker.errors.NotFound, match="no registry access"):
        client.images.pull("alpine", tag="3.19")
    client.images.remove("bb:two")
    client.images.remove("bb:1")
    assert client.images.list() == []


def test_dockerpy_events_stream(daemon: Daemon, dockerpy: object) -> None:
    import docker

    client: docker.DockerClient = dockerpy  # type: ignore[assignment]
    stream = client.events(decode=True, filters={"type": "network", "event": "create"})
    try:
        client.networks.create("evt")
        event = next(iter(stream))
    finally:
        stream.close()
    assert (event["Type"], event["Action"], event["Actor"]["Attributes"]["name"]) == (
        "network", "create", "evt")


needs_docker = pytest.mark.skipif(shutil.which("docker") is None,
                                  reason="the docker CLI is not installed on this machine")


@needs_docker
def test_docker_cli_networks(daemon: Daemon) -> None:
    assert ok(daemon.docker("version", "--format", "{{.Server.APIVersion}}")).strip() == "1.50"
    network_id = ok(daemon.docker("network", "create", "--subnet", "10.90.0.0/24", "dk"))
    ours = lines(ok(daemon.cli("network", "ls")))
    theirs = lines(ok(daemon.docker("network", "ls")))
    assert ours == theirs  # same table, byte for byte
    assert json.loads(ok(daemon.docker("network", "inspect", "dk")))[0]["Id"] == \
        network_id.strip()
    assert ok(daemon.docker("network", "inspect", "-f", "{{json .IPAM.Config}}", "dk")) == \
        ok(daemon.cli("network", "inspect", "-f", "{{json .IPAM.Config}}", "dk"))
    make_sandbox(daemon, "c1")
    ok(daemon.docker("network", "connect", "--ip", "10.90.0.7", "dk", "c1"))
    assert ok(daemon.docker("network", "inspect", "-f",
                            "{{range .Containers}}{{.IPv4Address}}{{end}}", "dk")) == \
        "10.90.0.7/24\n"
    ok(daemon.docker("network", "disconnect", "dk", "c1"))
    assert ok(daemon.docker("network", "rm", "dk")) == "dk\n"
    missing = daemon.docker("network", "rm", "dk")
    assert missing.returncode == 1
    ours_missing = daemon.cli("network", "rm", "dk")
    assert ours_missing.stderr == missing.stderr
    ok(daemon.docker("network", "create", "gone"))
    assert ok(daemon.docker("network", "prune", "-f")) == "Deleted Networks:\ngone\n\n"


@needs_docker
def test_docker_cli_images_and_info(daemon: Daemon, busybox_tar: str) -> None:
    image_id = ok(daemon.docker("import", "-c", "CMD sh", busybox_tar, "bb:latest")).strip()
    assert image_id.startswith("sha256:")
    theirs = lines(ok(daemon.docker("images")))
    ours = lines(ok(daemon.cli("images")))
    assert [r.split()[:3] for r in theirs] == [r.split()[:3] for r in ours]
    assert ok(daemon.docker("inspect", "-f", "{{.Id}}", "bb")).strip() == image_id
    ok(daemon.docker("tag", "bb", "bb:2"))
    assert ok(daemon.docker("rmi", "bb:2")).strip() == "Untagged: bb:2"
    info = ok(daemon.docker("info", "--format", "{{.Images}} {{.ServerVersion}}"))
    assert info.split()[0] == "1"
    pulled = daemon.docker("pull", "alpine")
    assert pulled.returncode == 1 and "no registry access" in pulled.stderr
