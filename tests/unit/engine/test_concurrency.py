"""Changes of one sandbox stay in order while its kernel work runs outside the engine lock."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from dockyard import plan
from dockyard.engine import Engine, EngineConfig
from dockyard.store import MemoryStore
from tests.integration.hosts import wait_for
from tests.unit.engine.fake_kernel import FakeKernel


class GatedKernel(FakeKernel):
    """Stops inside the first namespace creation until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = threading.Event()
        self.gate = threading.Event()

    def apply(self, steps: Sequence[plan.Step]) -> None:
        if any(isinstance(s, plan.CreateNetns) for s in steps) and not self.gate.is_set():
            self.inside.set()
            assert self.gate.wait(10)
        super().apply(steps)


def test_a_remove_during_creation_waits_and_the_sandbox_stays_removed(tmp_path: Path) -> None:
    kernel = GatedKernel()
    config = EngineConfig(root=str(tmp_path / "state"), exec_root=str(tmp_path / "run"),
                          host_resolv_conf=str(tmp_path / "resolv.conf"))
    engine = Engine(config, MemoryStore(), kernel).open()
    errors: list[BaseException] = []

    def run(fn: object) -> threading.Thread:
        def target() -> None:
            try:
                fn()  # type: ignore[operator]
            except BaseException as exc:
                errors.append(exc)
        thread = threading.Thread(target=target)
        thread.start()
        return thread

    creating = run(lambda: engine.create_sandbox("web"))
    assert kernel.inside.wait(10)
    # Other sandboxes are not held up by this one's kernel work.
    engine.create_network("other")
    assert engine.sandbox("web").state == "creating"
    removing = run(lambda: engine.remove_sandbox("web"))
    removing.join(0.2)
    assert removing.is_alive()  # waits for the creation, rather than racing it
    kernel.gate.set()
    creating.join(10)
    removing.join(10)
    assert errors == []
    assert [s.name for s in engine.state().sandboxes] == []
    assert kernel.namespaces == set()


def test_listeners_hear_changes_in_commit_order(tmp_path: Path) -> None:
    """Two connects finish at once: the last state told must be the newest one (the DNS
    records are whatever state was told last)."""
    config = EngineConfig(root=str(tmp_path / "state"), exec_root=str(tmp_path / "run"),
                          host_resolv_conf=str(tmp_path / "resolv.conf"))
    engine = Engine(config, MemoryStore(), FakeKernel()).open()
    engine.create_network("app")
    for name in ("a", "b"):
        engine.create_sandbox(name)
    inside, gate = threading.Event(), threading.Event()
    told: list[int] = []

    def listener(event: str, _object_id: str, state: object) -> None:
        if event != "network.connect":
            return
        if not inside.is_set():  # the first connect's news is held up here
            inside.set()
            assert gate.wait(10)
        told.append(len([e for e in state.endpoints if e.state == "ready"]))  # type: ignore[attr-defined]

    engine.subscribe(listener)
    first = threading.Thread(target=lambda: engine.connect("app", "a"))
    first.start()
    assert inside.wait(10)
    second = threading.Thread(target=lambda: engine.connect("app", "b"))
    second.start()
    # The second change commits; its news may not overtake the first's.
    wait_for(lambda: len(engine.state().endpoints) == 2, 10, "the second commit")
    gate.set()
    first.join(10)
    second.join(10)
    assert told[-1] == 2, told
