"""Restart decisions with Docker's back-off (pure).

Docker waits 100 ms before the first restart and doubles the wait on each further one,
up to a minute; a container that ran for 10 s or more before exiting starts the
back-off over. ``on-failure[:N]`` restarts only on a non-zero exit and at most N times;
a container stopped by the user is never restarted by its policy.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.runtime.options import RestartPolicy

INITIAL_DELAY = 0.1
MAX_DELAY = 60.0
RESET_AFTER = 10.0


@dataclass(frozen=True)
class RestartDecision:
    restart: bool
    delay: float = 0.0
    backoff: float = 0.0  # the delay to remember for the next exit


def decide(
    policy: RestartPolicy,
    *,
    exit_code: int,
    manually_stopped: bool,
    restart_count: int,
    ran_for: float,
    previous_backoff: float,
) -> RestartDecision:
    if manually_stopped or policy.name == "no":
        return RestartDecision(False)
    if policy.name == "on-failure":
        if exit_code == 0:
            return RestartDecision(False)
        if policy.maximum_retry_count and restart_count >= policy.maximum_retry_count:
            return RestartDecision(False)
    elif policy.name not in ("always", "unless-stopped"):
        return RestartDecision(False)
    if ran_for >= RESET_AFTER or previous_backoff <= 0:
        delay = INITIAL_DELAY
    else:
        delay = min(previous_backoff * 2, MAX_DELAY)
    return RestartDecision(True, delay, delay)


def starts_with_daemon(policy: RestartPolicy, *, manually_stopped: bool) -> bool:
    """Whether a stopped container that ran before is started when the daemon starts.

    Docker's documented rules: ``always`` even after ``docker stop`` (that is what sets it
    apart from ``unless-stopped``); ``unless-stopped`` only if the user did not stop it;
    ``on-failure`` never ("it doesn't restart the container if the daemon restarts": its
    exits were dealt with when they happened, those while no daemon ran included).
    """
    if policy.name == "always":
        return True
    return policy.name == "unless-stopped" and not manually_stopped
