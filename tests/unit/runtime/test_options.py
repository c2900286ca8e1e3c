from __future__ import annotations

import pytest

from dockyard.errors import InvalidParameter
from dockyard.runtime.options import (
    MountRequest,
    NetworkMode,
    RestartPolicy,
    parse_bind_spec,
    parse_mount_spec,
    parse_network_mode,
    parse_restart_policy,
    parse_signal,
    validate_container_name,
)


@pytest.mark.parametrize("name", ["web", "/web", "a1", "my.app-1_x"])
def test_docker_container_names_accepted(name: str) -> None:
    assert validate_container_name(name) == name.removeprefix("/")


@pytest.mark.parametrize("name", ["a", "-web", "_x", "we b", "web/1", ""])
def test_docker_container_names_refused(name: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        validate_container_name(name)
    # Docker's words exactly (moby's daemon/names): the name in parentheses, unquoted.
    assert str(caught.value) == (
        f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")


@pytest.mark.parametrize(("text", "policy"), [
    ("", RestartPolicy("no")), ("no", RestartPolicy("no")), ("always", RestartPolicy("always")),
    ("unless-stopped", RestartPolicy("unless-stopped")),
    ("on-failure", RestartPolicy("on-failure", 0)),
    ("on-failure:3", RestartPolicy("on-failure", 3)),
])
def test_restart_policies(text: str, policy: RestartPolicy) -> None:
    assert parse_restart_policy(text) == policy


@pytest.mark.parametrize("text", ["sometimes", "always:3", "on-failure:x", "on-failure:-1"])
def test_bad_restart_policies(text: str) -> None:
    with pytest.raises(InvalidParameter, match="restart policy"):
        parse_restart_policy(text)


def test_bind_specs() -> None:
    assert parse_bind_spec("/host/dir:/data:ro") == MountRequest(
        "bind", "/data", "/host/dir", True, create_host_path=True)
    assert parse_bind_spec("store:/data") == MountRequest("volume", "/data", "store")
    assert parse_bind_spec("/data/") == MountRequest("volume", "/data")
    for bad, message in (("/a:/b:xx", "invalid mode"), ("a:b", "must be absolute"),
                         ("/a:/", "can't be"), ("./rel:/x", "must be absolute"),
                         ("a:b:c:d", "invalid volume specification"), ("", "invalid volume")):
        with pytest.raises(InvalidParameter, match=message):
            parse_bind_spec(bad)


def test_mount_specs() -> None:
    assert parse_mount_spec("type=bind,src=/h,dst=/c,readonly") == MountRequest(
        "bind", "/c", "/h", True)
    assert parse_mount_spec("type=volume,target=/v") == MountRequest("volume", "/v")
    assert parse_mount_spec("target=/v,source=named") == MountRequest("volume", "/v", "named")
    assert parse_mount_spec("type=tmpfs,target=/t") == MountRequest("tmpfs", "/t")
    for bad, message in (("type=bind,source=rel,target=/c", "absolute"),
                         ("type=nfs,target=/c", "unknown type"), ("source=x", "target"),
                         ("type=bind,source=/a,target=/c,colour=red", "unknown field")):
        with pytest.raises(InvalidParameter, match=message):
            parse_mount_spec(bad)


def test_network_modes() -> None:
    assert parse_network_mode("") == NetworkMode("network", "bridge")
    assert parse_network_mode("default") == NetworkMode("network", "bridge")
    assert parse_network_mode("host") == NetworkMode("host", "host")
    assert parse_network_mode("none") == NetworkMode("none", "none")
    assert parse_network_mode("container:web") == NetworkMode("container", "web")
    assert parse_network_mode("front") == NetworkMode("network", "front")
    with pytest.raises(InvalidParameter):
        parse_network_mode("container:")


def test_signals() -> None:
    assert parse_signal("SIGTERM") == parse_signal("TERM") == parse_signal("15") == 15
    assert parse_signal("kill") == 9
    for bad in ("SIGNOPE", "0", "99", "", "SIG TERM"):
        with pytest.raises(InvalidParameter, match="invalid signal"):
            parse_signal(bad)
