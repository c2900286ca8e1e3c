"""Health of a container whose engine runs no healthchecks: compose probes it itself.

Dockyard's daemon runs healthchecks itself (``runtime/healthmon.py``) and reports
``State.Health``, which always wins. This is the fallback for an engine that refuses
``Healthcheck`` at create with a 501 (an older Dockyard daemon): it gets the container
without it, and ``depends_on: service_healthy`` / ``up --wait`` then run the
service's test through ``exec`` with Docker's rules: one try per ``interval``
(``start_interval`` during ``start_period``), ``healthy`` on the first success,
``unhealthy`` after ``retries`` consecutive failures counted once the start period is over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dockyard.compose.backend import ComposeBackend
from dockyard.compose.model import Healthcheck

_SECOND = 1_000_000_000
DEFAULT_INTERVAL_NS = 30 * _SECOND
DEFAULT_RETRIES = 3


def probe_command(check: Healthcheck) -> list[str] | None:
    """The argv that runs ``check.test`` in the container; None when there is nothing to
    run (``NONE``, or inherited from the image, which compose cannot see)."""
    if not check.test or check.test[0] == "NONE":
        return None
    if check.test[0] == "CMD":
        return list(check.test[1:])
    if check.test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(check.test[1:])]
    return ["/bin/sh", "-c", " ".join(check.test)]


@dataclass
class _Track:
    check: Healthcheck
    started: float
    last: float | None = None
    failures: int = 0
    status: str = "starting"


class HealthProbes:
    """The containers compose probes itself, and each one's current status."""

    def __init__(self, backend: ComposeBackend, clock: Callable[[], float]) -> None:
        self.backend = backend
        self.clock = clock
        self._tracks: dict[str, _Track] = {}

    def add(self, container_id: str, check: Healthcheck) -> None:
        if probe_command(check) is not None:
            self._tracks[container_id] = _Track(check, self.clock())

    def __contains__(self, container_id: str) -> bool:
        return container_id in self._tracks

    def status(self, container_id: str) -> str | None:
        """``starting``, ``healthy`` or ``unhealthy``; None if not probed here. Runs the
        test when its interval has passed since the last run."""
        track = self._tracks.get(container_id)
        if track is None:
            return None
        if track.status != "starting":
            return track.status
        now = self.clock()
        check = track.check
        in_start = now < track.started + (check.start_period_ns or 0) / _SECOND
        every = (check.start_interval_ns if in_start and check.start_interval_ns
                 else check.interval_ns or DEFAULT_INTERVAL_NS) / _SECOND
        if track.last is not None and now - track.last < every:
            return track.status
        track.last = now
        command = probe_command(check)
        assert command is not None
        output, exec_id = self.backend.exec(container_id, {
            "AttachStdout": True, "AttachStderr": True, "Cmd": command, "Tty": False})
        for _ in output:
            pass  # drained so the exec runs to its end
        if self.backend.exec_exit_code(exec_id) == 0:
            track.status = "healthy"
        elif not in_start:
            track.failures += 1
            if track.failures >= (check.retries or DEFAULT_RETRIES):
                track.status = "unhealthy"
        return track.status
