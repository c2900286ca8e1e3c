"""Volumes and bind mounts."""

from __future__ import annotations

import os

import pytest

from dockyard.errors import NotFound
from dockyard.runtime import ContainerManager, ContainerSpec
from dockyard.runtime.volumes import ANONYMOUS_LABEL

pytestmark = pytest.mark.root


def run(manager: ContainerManager, script: str, **kwargs: object) -> tuple[int, str]:
    c = manager.run(ContainerSpec("busybox", cmd=("sh", "-c", script), **kwargs))  # type: ignore[arg-type]
    code = manager.wait(c.id, timeout=10)
    return code, "".join(r.data for r in manager.logs(c.id))


def test_named_volume_outlives_its_container_and_keeps_data(manager: ContainerManager) -> None:
    code, _ = run(manager, "echo kept > /data/file", binds=("store:/data",), name="writer")
    assert code == 0
    manager.remove("writer", volumes=True)  # -v never removes a named volume
    assert manager.volumes.get("store").name == "store"
    code, out = run(manager, "cat /data/file", binds=("store:/data",))
    assert (code, out) == (0, "kept\n")
    assert manager.volumes.inspect("store")["Mountpoint"].endswith("/volumes/store/_data")


def test_new_volume_gets_the_image_content_at_its_path(manager: ContainerManager) -> None:
    code, out = run(manager, "cat /etc/passwd | head -1", binds=("etcvol:/etc",))
    assert code == 0 and out == "root:x:0:0:root:/root:/bin/sh\n"
    assert os.path.exists(os.path.join(manager.volumes.data_dir("etcvol"), "group"))


def test_anonymous_volume_removed_with_rm_v(manager: ContainerManager) -> None:
    c = manager.run(ContainerSpec("busybox", cmd=("sh", "-c", "echo x > /scratch/f"),
                                  binds=("/scratch",)))
    manager.wait(c.id, timeout=10)
    mount = manager.inspect(c.id)["Mounts"][0]
    assert mount["Type"] == "volume" and mount["Destination"] == "/scratch"
    name = mount["Name"]
    assert ANONYMOUS_LABEL in manager.volumes.get(name).labels
    assert os.path.exists(os.path.join(manager.volumes.data_dir(name), "f"))
    manager.remove(c.id, volumes=True)
    with pytest.raises(NotFound):
        manager.volumes.get(name)
    assert not os.path.exists(manager.volumes.data_dir(name))


def test_anonymous_volume_kept_without_v(manager: ContainerManager) -> None:
    c = manager.create(ContainerSpec("busybox", cmd=("true",), mounts=("type=volume,dst=/v",)))
    name = c.mounts[0].name
    manager.remove(c.id)
    assert manager.volumes.get(name).anonymous


def test_bind_mounts_read_only_and_read_write(manager: ContainerManager, tmp_path: object
                                              ) -> None:
    base = str(tmp_path)
    with open(os.path.join(base, "in.txt"), "w") as f:
        f.write("from host\n")
    code, out = run(manager, "cat /ro/in.txt; echo nope > /ro/x || echo refused; "
                             "echo written > /rw/out.txt",
                    binds=(f"{base}:/ro:ro",), mounts=(f"type=bind,source={base},target=/rw",))
    assert code == 0
    assert out.splitlines()[0] == "from host"
    assert "refused" in out
    with open(os.path.join(base, "out.txt")) as f:
        assert f.read() == "written\n"
    assert not os.path.exists(os.path.join(base, "x"))
