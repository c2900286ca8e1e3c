"""HostConfig options as values (pure): capabilities, tmpfs, sysctls, the warnings."""

from __future__ import annotations

import pytest

from dockyard.api.container_json import unapplied_host_config
from dockyard.errors import InvalidParameter
from dockyard.runtime.options import check_sysctls, effective_capabilities, tmpfs_mount

DEFAULT = ("CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW")


def test_capabilities_as_docker_adds_and_drops_them() -> None:
    assert effective_capabilities((), (), DEFAULT) == ("CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW")
    assert effective_capabilities(("net_admin",), ("CAP_NET_RAW",), DEFAULT) == (
        "CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN")
    assert effective_capabilities(("NET_ADMIN",), ("all",), DEFAULT) == ("CAP_NET_ADMIN",)
    everything = effective_capabilities(("ALL",), ("KILL",), DEFAULT)
    assert "CAP_SYS_ADMIN" in everything and "CAP_KILL" not in everything
    with pytest.raises(InvalidParameter, match='unknown capability: "CAP_FLY"'):
        effective_capabilities(("fly",), (), DEFAULT)


def test_tmpfs_keeps_dockers_defaults_unless_told() -> None:
    assert tmpfs_mount("/run") == {"destination": "/run", "type": "tmpfs", "source": "tmpfs",
                                   "options": ["nosuid", "nodev", "noexec"]}
    assert tmpfs_mount("/run/:ro,exec,size=1m")["options"] == [
        "nosuid", "nodev", "exec", "ro", "size=1m"]
    for bad in ("run", "/run:loud"):
        with pytest.raises(InvalidParameter, match="invalid tmpfs"):
            tmpfs_mount(bad)


def test_only_the_network_and_ipc_namespaces_own_sysctls() -> None:
    assert check_sysctls(("net/core/somaxconn=100", "kernel.shmmax=4096",
                          "fs.mqueue.msg_max=20"), "appnet") == {
        "net.core.somaxconn": "100", "kernel.shmmax": "4096", "fs.mqueue.msg_max": "20"}
    for items, mode in ((("kernel.panic=1",), "bridge"), (("net.core.x=1",), "host"),
                        (("net.core.x=1",), "container:web"), (("novalue",), "bridge")):
        with pytest.raises(InvalidParameter):
            check_sysctls(items, mode)


def test_warnings_name_what_asks_for_something_not_applied() -> None:
    # what the docker CLI sends when no such flag is given
    assert unapplied_host_config({
        "BlkioWeight": 0, "CapAdd": None, "ConsoleSize": [0, 0], "LogConfig": {
            "Config": {}, "Type": ""}, "MemorySwappiness": -1, "NetworkMode": "default",
        "RestartPolicy": {"MaximumRetryCount": 0, "Name": "no"}, "Ulimits": [],
        "Isolation": ""}) == []
    assert [w.split()[0] for w in unapplied_host_config({
        "CpuShares": 512, "Ulimits": [{"Name": "nofile", "Soft": 1, "Hard": 1}],
        "CapAdd": ["NET_ADMIN"]})] == ["HostConfig.CpuShares", "HostConfig.Ulimits"]
