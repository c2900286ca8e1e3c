"""Users, logs, the OCI spec and the stored container document."""

from __future__ import annotations

import json
import os

import pytest

from dockyard.errors import InvalidParameter
from dockyard.runtime.container import (
    Attachment,
    Container,
    ContainerSpec,
    MountPoint,
    RunState,
)
from dockyard.runtime.logs import read_records, select
from dockyard.runtime.spec import INIT_PATH, BindMount, ProcessSpec, build_spec
from dockyard.runtime.users import ResolvedUser, resolve_user

PASSWD = "root:x:0:0:root:/root:/bin/sh\nweb:x:33:33:web:/var/www:/bin/false\n"
GROUP = "root:x:0:\nweb:x:33:\nstaff:x:50:web,other\n"


def test_resolve_user() -> None:
    assert resolve_user("", PASSWD, GROUP) == ResolvedUser(0, 0, "/root")
    assert resolve_user("web", PASSWD, GROUP) == ResolvedUser(33, 33, "/var/www", (50,))
    assert resolve_user("33", PASSWD, GROUP).home == "/var/www"
    assert resolve_user("1234", PASSWD, GROUP) == ResolvedUser(1234, 0, "/")
    assert resolve_user("web:staff", PASSWD, GROUP).gid == 50
    assert resolve_user("1234:99", PASSWD, GROUP) == ResolvedUser(1234, 99, "/")
    with pytest.raises(InvalidParameter, match="unable to find user ghost"):
        resolve_user("ghost", PASSWD, GROUP)
    with pytest.raises(InvalidParameter, match="unable to find group nogroup"):
        resolve_user("web:nogroup", PASSWD, GROUP)


def test_log_records_skip_a_torn_last_line_and_filter(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "json.log")
    lines = [{"log": "a\n", "stream": "stdout", "time": "2024-01-01T00:00:01.000000000Z"},
             {"log": "b\n", "stream": "stderr", "time": "2024-01-01T00:00:02.000000000Z"},
             {"log": "c\n", "stream": "stdout", "time": "2024-01-01T00:00:03.000000000Z"}]
    with open(path, "w") as f:
        f.write("".join(json.dumps(line) + "\n" for line in lines) + '{"log": "tor')
    records, offset = read_records(path)
    assert [r.data for r in records] == ["a\n", "b\n", "c\n"]
    assert read_records(path, offset) == ([], offset)  # the torn line waits for its end
    assert [r.data for r in select(records, stderr=False)] == ["a\n", "c\n"]
    assert [r.data for r in select(records, tail=1)] == ["c\n"]
    assert [r.data for r in select(records, since="2024-01-01T00:00:02")] == ["b\n", "c\n"]
    assert records[0].format(timestamps=True) == "2024-01-01T00:00:01.000000000Z a\n"


def test_oci_spec_runs_the_command_under_the_init() -> None:
    spec = build_spec(
        rootfs="/r", process=ProcessSpec(("sh", "-c", "x"), ("A=1",), "/w", 33, 33),
        hostname="h", netns="/run/ns/x", init_binary="/bin/dyinit",
        mounts=[BindMount("/etc-h", "/etc/hosts"), BindMount("/d", "/data", read_only=True)])
    assert spec["process"]["args"] == ["sh", "-c", "x"]
    assert spec["process"]["user"] == {"uid": 33, "gid": 33, "additionalGids": []}
    assert {"type": "network", "path": "/run/ns/x"} in spec["linux"]["namespaces"]
    targets = {m["destination"]: m for m in spec["mounts"]}
    assert targets[INIT_PATH]["source"] == "/bin/dyinit" and "ro" in targets[INIT_PATH]["options"]
    assert "ro" in targets["/data"]["options"] and "rw" in targets["/etc/hosts"]["options"]
    assert "ro" in targets["/sys"]["options"]
    assert {"/proc", "/dev", "/dev/shm", "/dev/pts", "/dev/mqueue"} <= set(targets)
    host = build_spec(rootfs="/r", process=ProcessSpec(("x",), (), "/", 0, 0), hostname="h",
                      netns=None, init_binary="/i")
    assert all(n["type"] != "network" for n in host["linux"]["namespaces"])


def test_container_document_round_trip() -> None:
    c = Container(
        id="a" * 64, name="web", created="2024", image_id="sha256:" + "b" * 64,
        image_ref="busybox", path="sh", args=("-c", "x"), env=("A=1",), workdir="/",
        user="", hostname="h", domainname="", labels={"k": "v"}, stop_signal="",
        stop_timeout=None, exposed=("80/tcp",), cmd=("sh",), entrypoint=None,
        spec=ContainerSpec("busybox", name="web", cmd=("sh",), labels={"k": "v"},
                           binds=("/a:/b",)),
        mounts=(MountPoint("bind", "/a", "/b"),),
        networks=(Attachment("front", ("w",), last_ipv4="172.18.0.2"),),
        state=RunState(status="running", pid=5, restart_count=2),
    )
    assert Container.from_doc(json.loads(json.dumps(c.to_doc()))) == c
