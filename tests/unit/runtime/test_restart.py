from __future__ import annotations

from dockyard.runtime.options import RestartPolicy
from dockyard.runtime.restart import decide


def run(policy: str, count: int = 0, *, code: int = 1, stopped: bool = False,
        ran_for: float = 1.0, backoff: float = 0.0) -> tuple[bool, float]:
    name, _, n = policy.partition(":")
    d = decide(RestartPolicy(name, int(n or 0)), exit_code=code, manually_stopped=stopped,
               restart_count=count, ran_for=ran_for, previous_backoff=backoff)
    return d.restart, d.delay


def test_no_never_restarts() -> None:
    assert run("no") == (False, 0.0)


def test_on_failure_counts_retries_and_ignores_success() -> None:
    assert run("on-failure:2", 0)[0]
    assert run("on-failure:2", 1)[0]
    assert not run("on-failure:2", 2)[0]
    assert not run("on-failure:2", 0, code=0)[0]
    assert run("on-failure", 50)[0]  # no maximum


def test_always_and_unless_stopped_restart_any_exit_but_not_a_manual_stop() -> None:
    for policy in ("always", "unless-stopped"):
        assert run(policy, code=0)[0]
        assert not run(policy, stopped=True)[0]


def test_backoff_doubles_up_to_a_minute_and_resets_after_ten_seconds() -> None:
    assert run("always")[1] == 0.1
    assert run("always", backoff=0.1)[1] == 0.2
    assert run("always", backoff=0.4)[1] == 0.8
    assert run("always", backoff=50)[1] == 60
    assert run("always", backoff=50, ran_for=10)[1] == 0.1


def test_daemon_start_brings_back_always_even_after_stop_but_not_the_others() -> None:
    from dockyard.runtime.restart import starts_with_daemon

    def starts(policy: str, stopped: bool) -> bool:
        name, _, n = policy.partition(":")
        return starts_with_daemon(RestartPolicy(name, int(n or 0)), manually_stopped=stopped)

    assert starts("always", True) and starts("always", False)
    assert starts("unless-stopped", False) and not starts("unless-stopped", True)
    for policy in ("no", "on-failure", "on-failure:3"):
        assert not starts(policy, False) and not starts(policy, True)
