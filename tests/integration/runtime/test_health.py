"""Healthchecks run by the manager on busybox containers, with short intervals."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.engine import Engine
from dockyard.runtime import ContainerManager, ContainerSpec
from dockyard.runtime.health import HealthConfig
from tests.integration.hosts import Host, wait_for
from tests.integration.runtime.conftest import finish, make_manager

pytestmark = pytest.mark.root

MS = 1_000_000
SLEEP = ("sleep", "600")


def health(manager: ContainerManager, name: str) -> dict[str, Any]:
    return dict(manager.inspect(name)["State"].get("Health") or {})


def status_is(manager: ContainerManager, name: str, wanted: str) -> bool:
    return health(manager, name).get("Status") == wanted


def test_probe_passes_once_the_file_appears(manager: ContainerManager) -> None:
    check = HealthConfig(("CMD", "test", "-f", "/tmp/ready"), interval_ns=100 * MS,
                         retries=1000)
    manager.run(ContainerSpec("busybox", name="web", cmd=SLEEP, healthcheck=check))
    doc = manager.inspect("web")
    assert doc["Config"]["Healthcheck"] == {"Test": ["CMD", "test", "-f", "/tmp/ready"],
                                            "Interval": 100 * MS, "Retries": 1000}
    assert doc["State"]["Health"]["Status"] == "starting"
    wait_for(lambda: health(manager, "web").get("FailingStreak", 0) >= 2, what="failures")
    assert status_is(manager, "web", "starting")
    assert manager.exec("web", ["touch", "/tmp/ready"]).exit_code == 0
    wait_for(lambda: status_is(manager, "web", "healthy"), what="healthy")
    state = health(manager, "web")
    assert state["FailingStreak"] == 0
    assert state["Log"][-1]["ExitCode"] == 0
    assert 1 <= len(state["Log"]) <= 5


def test_always_failing_probe_is_unhealthy_after_retries(manager: ContainerManager) -> None:
    check = HealthConfig(("CMD-SHELL", "echo nope; exit 3"), interval_ns=50 * MS, retries=3)
    manager.run(ContainerSpec("busybox", name="sick", cmd=SLEEP, healthcheck=check))
    wait_for(lambda: status_is(manager, "sick", "unhealthy"), what="unhealthy")
    state = health(manager, "sick")
    assert state["FailingStreak"] >= 3
    assert state["Log"][0] == {**state["Log"][0], "ExitCode": 3, "Output": "nope\n"}


def test_probe_outrunning_its_timeout_fails_with_minus_one(manager: ContainerManager) -> None:
    check = HealthConfig(("CMD", "sleep", "5"), interval_ns=50 * MS, timeout_ns=200 * MS,
                         retries=1)
    manager.run(ContainerSpec("busybox", name="slow", cmd=SLEEP, healthcheck=check))
    wait_for(lambda: status_is(manager, "slow", "unhealthy"), what="unhealthy by timeout")
    last = health(manager, "slow")["Log"][-1]
    assert last["ExitCode"] == -1
    assert last["Output"] == "Health check exceeded timeout (200ms)"


def test_start_period_failures_do_not_count(manager: ContainerManager) -> None:
    check = HealthConfig(("CMD", "false"), interval_ns=50 * MS, retries=1,
                         start_period_ns=1500 * MS, start_interval_ns=50 * MS)
    manager.run(ContainerSpec("busybox", name="warm", cmd=SLEEP, healthcheck=check))
    wait_for(lambda: len(health(manager, "warm").get("Log", [])) >= 3, what="probes")
    # Several failures logged inside the start period, none counted.
    state = health(manager, "warm")
    if state["Status"] == "starting":
        assert state["FailingStreak"] == 0
    wait_for(lambda: status_is(manager, "warm", "unhealthy"), what="unhealthy after it")
    assert health(manager, "warm")["FailingStreak"] == 1


def test_restart_resets_to_starting_and_none_disables(manager: ContainerManager) -> None:
    check = HealthConfig(("CMD", "true"), interval_ns=50 * MS)
    manager.run(ContainerSpec("busybox", name="ok", cmd=SLEEP, healthcheck=check))
    wait_for(lambda: status_is(manager, "ok", "healthy"), what="healthy")
    manager.stop("ok", timeout=0)
    assert status_is(manager, "ok", "healthy")  # the last health stays readable
    manager.start("ok")
    assert status_is(manager, "ok", "starting")
    wait_for(lambda: status_is(manager, "ok", "healthy"), what="healthy again")

    manager.run(ContainerSpec("busybox", name="off", cmd=SLEEP,
                              healthcheck=HealthConfig(("NONE",))))
    doc = manager.inspect("off")
    assert doc["Config"]["Healthcheck"] == {"Test": ["NONE"]}
    assert "Health" not in doc["State"]
    plain = manager.run(ContainerSpec("busybox", name="plain", cmd=SLEEP))
    assert "Health" not in manager.inspect(plain.id)["State"]
    assert "Healthcheck" not in manager.inspect(plain.id)["Config"]


def test_adopting_manager_goes_on_probing(engine: Engine, host: Host, init_binary: str,
                                          dyrun_binary: str) -> None:
    first = make_manager(engine, host, init_binary, "dyrun", dyrun_binary)
    second = None
    try:
        check = HealthConfig(("CMD", "test", "-f", "/tmp/ready"), interval_ns=50 * MS,
                             retries=1000)
        first.run(ContainerSpec("busybox", name="kept", cmd=SLEEP, healthcheck=check))
        first.close()
        second = make_manager(engine, host, init_binary, "dyrun", dyrun_binary)
        assert second.exec("kept", ["touch", "/tmp/ready"]).exit_code == 0
        wait_for(lambda: status_is(second, "kept", "healthy"), what="healthy after adoption")
    finally:
        finish(first, second,
               lambda: make_manager(engine, host, init_binary, "dyrun", dyrun_binary))
