"""Docker's healthcheck rules as a pure state machine, and the config's JSON forms."""

from __future__ import annotations

import json

import pytest

from dockyard.errors import InvalidParameter
from dockyard.runtime.container import Container, ContainerSpec
from dockyard.runtime.health import (
    HEALTHY,
    MAX_LOG,
    STARTING,
    UNHEALTHY,
    Health,
    HealthConfig,
    ProbeResult,
    exec_result,
    merge_healthcheck,
    next_delay,
    next_health,
    timeout_result,
)

MS = 1_000_000
STARTED = 1_700_000_000.0


def probe(at: float, code: int, output: str = "") -> ProbeResult:
    return ProbeResult(STARTED + at, STARTED + at + 0.01, code, output)


def run(config: HealthConfig, results: list[tuple[float, int]], health: Health | None = None
        ) -> list[Health]:
    """Every health along the way for probes at (seconds after start, exit code)."""
    health = health or Health()
    seen = []
    for at, code in results:
        health = next_health(health, probe(at, code), started_at=STARTED, config=config)
        seen.append(health)
    return seen


def test_first_success_is_healthy_and_resets_the_streak() -> None:
    config = HealthConfig(("CMD", "true"))
    seen = run(config, [(30, 1), (60, 0)])
    assert (seen[0].status, seen[0].failing_streak) == (STARTING, 1)
    assert (seen[1].status, seen[1].failing_streak) == (HEALTHY, 0)


def test_retries_consecutive_failures_make_unhealthy_default_three() -> None:
    seen = run(HealthConfig(("CMD", "false")), [(30, 1), (60, 2), (90, 1)])
    assert [h.status for h in seen] == [STARTING, STARTING, UNHEALTHY]
    assert [h.failing_streak for h in seen] == [1, 2, 3]
    two = run(HealthConfig(("CMD", "false"), retries=2), [(30, 1), (60, 1)])
    assert two[-1].status == UNHEALTHY


def test_healthy_then_failures_go_unhealthy_and_a_success_recovers() -> None:
    seen = run(HealthConfig(("CMD", "x"), retries=2), [(1, 0), (2, 1), (3, 1), (4, 0)])
    assert [h.status for h in seen] == [HEALTHY, HEALTHY, UNHEALTHY, HEALTHY]
    assert seen[-1].failing_streak == 0


def test_failures_in_the_start_period_do_not_count_while_starting() -> None:
    config = HealthConfig(("CMD", "x"), retries=1, start_period_ns=10_000 * MS)
    seen = run(config, [(1, 1), (5, 1), (9.9, 1)])
    assert [(h.status, h.failing_streak) for h in seen] == [(STARTING, 0)] * 3
    assert len(seen[-1].log) == 3  # logged all the same
    after = run(config, [(10.5, 1)], seen[-1])
    assert (after[0].status, after[0].failing_streak) == (UNHEALTHY, 1)


def test_failures_in_the_start_period_count_once_healthy() -> None:
    config = HealthConfig(("CMD", "x"), retries=1, start_period_ns=10_000 * MS)
    seen = run(config, [(1, 0), (2, 1)])
    assert seen[-1].status == UNHEALTHY


def test_timeout_is_a_failure_with_exit_minus_one_and_dockers_message() -> None:
    config = HealthConfig(("CMD", "sleep", "9"), timeout_ns=200 * MS, retries=1)
    result = timeout_result(STARTED + 1, STARTED + 1.2, config)
    assert (result.exit_code, result.output) == (-1, "Health check exceeded timeout (200ms)")
    health = next_health(Health(), result, started_at=STARTED, config=config)
    assert health.status == UNHEALTHY
    default = timeout_result(STARTED, STARTED, HealthConfig(("CMD", "x")))
    assert default.output == "Health check exceeded timeout (30s)"


def test_log_keeps_the_last_five_in_dockers_shape() -> None:
    seen = run(HealthConfig(("CMD", "x"), retries=100), [(i, i) for i in range(1, 8)])
    last = seen[-1]
    assert len(last.log) == MAX_LOG
    assert [r.exit_code for r in last.log] == [3, 4, 5, 6, 7]
    doc = last.to_docker()
    assert set(doc) == {"Status", "FailingStreak", "Log"}
    assert set(doc["Log"][0]) == {"Start", "End", "ExitCode", "Output"}
    assert doc["Log"][0]["Start"].endswith("Z")
    assert Health.from_docker(json.loads(json.dumps(doc))) == last


def test_output_is_stdout_then_stderr_capped() -> None:
    result = exec_result(0, 1, 0, b"out\n", b"err\n")
    assert result.output == "out\nerr\n"
    assert len(exec_result(0, 1, 0, b"x" * 10_000, b"").output) == 4096


def test_restart_resets_to_starting_but_keeps_the_log() -> None:
    unhealthy = run(HealthConfig(("CMD", "x"), retries=1), [(1, 1)])[-1]
    again = unhealthy.restarted()
    assert (again.status, again.failing_streak, again.log) == (STARTING, 0, unhealthy.log)


def test_next_delay_uses_start_interval_only_while_starting_in_the_start_period() -> None:
    config = HealthConfig(("CMD", "x"), interval_ns=1000 * MS, start_period_ns=5000 * MS,
                          start_interval_ns=100 * MS)
    assert next_delay(Health(), now=STARTED + 1, started_at=STARTED, config=config) == 0.1
    assert next_delay(Health(), now=STARTED + 6, started_at=STARTED, config=config) == 1.0
    assert next_delay(Health(HEALTHY), now=STARTED + 1, started_at=STARTED,
                      config=config) == 1.0
    # Docker's defaults: 30 s interval, 5 s start interval.
    default = HealthConfig(("CMD", "x"), start_period_ns=60_000 * MS)
    assert next_delay(Health(), now=STARTED, started_at=STARTED, config=default) == 5.0
    assert default.interval == 30.0 and default.timeout == 30.0 and default.max_failures == 3


def test_probe_argv() -> None:
    assert HealthConfig(("CMD", "test", "-f", "/x")).probe_argv() == ("test", "-f", "/x")
    assert HealthConfig(("CMD-SHELL", "test -f /x || exit 1")).probe_argv() == (
        "/bin/sh", "-c", "test -f /x || exit 1")
    assert HealthConfig(("NONE",)).probe_argv() is None
    assert HealthConfig().probe_argv() is None


def test_image_healthcheck_applies_unless_the_container_sets_one() -> None:
    image = HealthConfig(("CMD", "img"), interval_ns=5000 * MS, retries=7)
    assert merge_healthcheck(None, image) == image
    own = HealthConfig(("CMD-SHELL", "mine"), interval_ns=200 * MS)
    merged = merge_healthcheck(own, image)
    assert merged == HealthConfig(("CMD-SHELL", "mine"), interval_ns=200 * MS, retries=7)
    # Timings only: the image's test with the container's interval.
    timing = merge_healthcheck(HealthConfig(interval_ns=MS), image)
    assert timing is not None and timing.test == ("CMD", "img")
    disabled = merge_healthcheck(HealthConfig(("NONE",)), image)
    assert disabled is not None and disabled.disabled


def test_docker_json_round_trip_and_validation() -> None:
    doc = {"Test": ["CMD", "true"], "Interval": 200 * MS, "Retries": 2}
    config = HealthConfig.from_docker(doc)
    assert config.to_docker() == doc
    with pytest.raises(InvalidParameter, match="Interval in Healthcheck cannot be less than 1ms"):
        HealthConfig.from_docker({"Test": ["CMD", "x"], "Interval": 5})
    with pytest.raises(InvalidParameter, match="Retries in Healthcheck cannot be negative"):
        HealthConfig.from_docker({"Test": ["CMD", "x"], "Retries": -1})
    with pytest.raises(InvalidParameter, match=r'"Healthcheck\.Timeout" must be an integer'):
        HealthConfig.from_docker({"Test": ["CMD", "x"], "Timeout": "1s"})
    with pytest.raises(InvalidParameter, match="CMD needs a command"):
        HealthConfig.from_docker({"Test": ["CMD"]})
    with pytest.raises(InvalidParameter, match="expected NONE, CMD or CMD-SHELL"):
        HealthConfig.from_docker({"Test": ["true"]})


def test_healthcheck_is_stored_with_the_container() -> None:
    check = HealthConfig(("CMD-SHELL", "true"), interval_ns=200 * MS)
    c = Container(
        id="a" * 64, name="x", created="2024-01-01T00:00:00Z", image_id="i", image_ref="b",
        path="sh", args=(), env=(), workdir="", user="", hostname="h", domainname="",
        labels={}, stop_signal="", stop_timeout=None, exposed=(), cmd=None, entrypoint=None,
        spec=ContainerSpec("busybox", healthcheck=check), healthcheck=check)
    back = Container.from_doc(json.loads(json.dumps(c.to_doc())))
    assert back == c
    old = c.to_doc()
    del old["healthcheck"]
    del old["spec"]["healthcheck"]
    assert Container.from_doc(old).healthcheck is None  # documents from before healthchecks
