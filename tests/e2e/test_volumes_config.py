"""Anonymous volumes as the docker CLI asks for them: ``-v /path`` goes in the create
body's ``Config.Volumes``, not in ``HostConfig.Binds``."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.e2e.daemon import Daemon, ok

pytestmark = pytest.mark.root


def _inspect(daemon: Daemon, ref: str) -> dict:  # type: ignore[type-arg]
    return json.loads(ok(daemon.cli("inspect", ref)))[0]  # type: ignore[no-any-return]


def test_anonymous_volume_from_config_volumes(busybox: Daemon) -> None:
    daemon = busybox
    status, _ = daemon.api("POST", "/containers/create", {
        "Image": "busybox", "Cmd": ["ls", "-d", "/data"], "Volumes": {"/data": {}}},
        query={"name": "anon"})
    assert status == 201
    ok(daemon.cli("start", "anon"))
    ok(daemon.cli("wait", "anon"))
    assert ok(daemon.cli("logs", "anon")) == "/data\n"
    doc = _inspect(daemon, "anon")
    assert doc["Config"]["Volumes"] == {"/data": {}}
    assert [m["Type"] for m in doc["Mounts"]] == ["volume"]
    assert ok(daemon.cli("volume", "ls", "-q")).strip() == doc["Mounts"][0]["Name"]
    # our CLI sends a lone path as docker's does
    ok(daemon.cli("run", "--name", "anon2", "-v", "/other", "busybox", "true"))
    assert _inspect(daemon, "anon2")["Config"]["Volumes"] == {"/other": {}}
    bad = daemon.cli("run", "--rm", "-v", "rel", "busybox", "true")
    assert bad.returncode == 125 and "must be absolute" in bad.stderr
    if shutil.which("docker"):  # the real CLI's -v /path reaches the same place
        ok(daemon.docker("run", "--name", "anon3", "-v", "/third", "busybox", "true"))
        doc = _inspect(daemon, "anon3")
        assert (doc["Config"]["Volumes"], doc["HostConfig"]["Binds"]) == ({"/third": {}}, None)
        assert [m["Destination"] for m in doc["Mounts"]] == ["/third"]
