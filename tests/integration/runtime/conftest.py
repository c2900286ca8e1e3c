from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

import pytest

from dockyard.engine import Engine
from dockyard.errors import DockyardError
from dockyard.images.busybox import ensure_busybox_image
from dockyard.images.store import ImageStore
from dockyard.kernel.initbin import ensure_dyrun_binary, ensure_init_binary
from dockyard.runtime import ContainerManager
from tests.integration.hosts import TEST_RUN_ROOT, Host

# Every behaviour test runs under both runtimes: the lean one (dyrun) and runc.
RUNTIMES = ("dyrun", "runc")


@pytest.fixture(scope="session")
def init_binary() -> str:
    return ensure_init_binary(os.path.join(TEST_RUN_ROOT, "bin"))


@pytest.fixture(scope="session")
def dyrun_binary() -> str:
    return ensure_dyrun_binary(os.path.join(TEST_RUN_ROOT, "bin"))


@pytest.fixture(params=RUNTIMES)
def runtime(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make_manager(engine: Engine, host: Host, init_binary: str, runtime: str = "dyrun",
                 dyrun_binary: str | None = None) -> ContainerManager:
    images = ImageStore(host.root, engine.store)
    ensure_busybox_image(images)
    return ContainerManager(engine, images, init_binary=init_binary, host_netns=host.netns,
                            runtime=runtime, dyrun_binary=dyrun_binary).open()


def remove_all(manager: ContainerManager) -> None:
    for c in reversed(manager.containers()):  # sharers (created later) go first
        with contextlib.suppress(DockyardError):
            manager.remove(c.id, force=True, volumes=True)


@pytest.fixture
def manager(engine: Engine, host: Host, init_binary: str, dyrun_binary: str, runtime: str
            ) -> Iterator[ContainerManager]:
    mgr = make_manager(engine, host, init_binary, runtime, dyrun_binary)
    try:
        yield mgr
    finally:
        remove_all(mgr)
        mgr.close()


def finish(first: ContainerManager, second: ContainerManager | None,
           remake: Callable[[], ContainerManager]) -> None:
    """End a test that hands its containers from one manager to the next (a daemon
    restart): remove everything they ran and close the last manager. A closed manager
    cannot remove what still runs, so when the test stopped between closing the first and
    making the second, a new manager adopts the containers first."""
    manager = second or first
    if manager.closed:
        manager = remake()
    remove_all(manager)
    manager.close()
