from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from dockyard.engine import Engine, EngineConfig
from dockyard.kernel.linux import LinuxKernel
from dockyard.model.sandbox import Sandbox
from dockyard.store import SqliteStore
from tests.e2e.daemon import Daemon, ok, running_daemon


@pytest.fixture
def daemon() -> Iterator[Daemon]:
    with running_daemon() as d:
        yield d


@pytest.fixture
def busybox_tar(tmp_path: object) -> str:
    from dockyard.images import build_busybox_rootfs_tar

    path = os.path.join(str(tmp_path), "busybox.tar")
    build_busybox_rootfs_tar(path)
    return path


@pytest.fixture
def busybox(daemon: Daemon, busybox_tar: str) -> Iterator[Daemon]:
    """The daemon with busybox imported; every container is removed afterwards, paused
    ones included, even when the test failed (a daemon's stop leaves them running)."""
    ok(daemon.cli("import", busybox_tar, "busybox"))
    try:
        yield daemon
    finally:
        if daemon.proc is None:
            daemon.start()
        ids = daemon.cli("ps", "-aq").stdout.split()
        if ids:
            daemon.cli("rm", "-f", "-v", *ids)


@pytest.fixture
def dockerpy(daemon: Daemon) -> Iterator[object]:
    """docker-py's client on the test's daemon (skipped where docker-py is missing)."""
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=daemon.url, version="auto")
    try:
        yield client
    finally:
        client.close()


def make_sandbox(daemon: Daemon, name: str) -> Sandbox:
    """A sandbox on the daemon's state root, standing in for a container until the API
    creates containers (same row, same namespace a container would get)."""
    host = daemon.host
    config = EngineConfig(root=host.root, exec_root=host.exec_root,
                          host_resolv_conf=os.path.join(host.root, "host-resolv.conf"))
    engine = Engine(config, SqliteStore(host.root), LinuxKernel(host.netns))
    try:
        return engine.create_sandbox(name)
    finally:
        engine.close()
