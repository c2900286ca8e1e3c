"""Supervision across manager restarts: exits recorded while no manager ran, running
containers adopted by the next manager."""

from __future__ import annotations

import os

import pytest

from dockyard.engine import Engine
from dockyard.runtime import ContainerSpec
from tests.integration.hosts import Host, wait_for
from tests.integration.runtime.conftest import finish, make_manager

pytestmark = pytest.mark.root


def test_exit_while_down_is_recorded_and_running_containers_adopted(
        engine: Engine, host: Host, init_binary: str, dyrun_binary: str, runtime: str
) -> None:
    first = make_manager(engine, host, init_binary, runtime, dyrun_binary)
    second = None
    try:
        sleeper = first.run(ContainerSpec("busybox", name="sleeper", cmd=("sleep", "60")))
        quitter = first.run(ContainerSpec(
            "busybox", name="quitter", restart="on-failure:1",
            cmd=("sh", "-c", "echo run; while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 5")))
        first.close()  # the manager goes away; its containers keep running
        assert first.exec(quitter.id, ["touch", "/tmp/go"]).exit_code == 0
        status = os.path.join(first.container_dir(quitter.id), "exit-status")
        wait_for(lambda: os.path.getsize(status) > 0, what="exit while unsupervised")

        second = make_manager(engine, host, init_binary, runtime, dyrun_binary)
        assert second.inspect("sleeper")["State"]["Running"]
        assert second.inspect("sleeper")["State"]["Pid"] == sleeper.state.pid
        # The exit (code 5) was recorded and on-failure:1 applied: one restart.
        wait_for(lambda: "".join(r.data for r in second.logs("quitter")) == "run\nrun\n",
                 timeout=10, what="restart after the recorded exit")
        assert second.inspect("quitter")["RestartCount"] == 1
        # The adopted container is stopped by the new manager, exit code and all: killed
        # at the timeout when sleep is PID 1, ended by SIGTERM under dyinit (runc's).
        code = 143 if runtime == "runc" else 137
        assert second.stop("sleeper", timeout=1).state.exit_code == code
    finally:
        finish(first, second,
               lambda: make_manager(engine, host, init_binary, runtime, dyrun_binary))
