"""Running every container's healthcheck on its schedule: one scheduler thread for all.

The scheduler keeps a heap of (due time, container); when one is due it hands the probe
to a small bounded pool of workers (a probe may take up to its timeout, and one slow
probe must not hold up another container's), and schedules that container's next probe
once the result is in. No thread per container: an idle container with a healthcheck
costs one heap entry and one dict entry.

Each track carries a generation: a container stopped (or restarted) while its probe was
running has a new generation by the time the result comes back, and the stale result is
dropped. The latest :class:`Health` of each container is kept in memory and written to
``health.json`` in its directory, so a new daemon adopting a running container keeps
its status and log, and a stopped container still shows its last health.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from dockyard.errors import DockyardError
from dockyard.kernel.oci import ExecResult
from dockyard.runtime.health import (
    Health,
    HealthConfig,
    ProbeResult,
    error_result,
    exec_result,
    next_delay,
    next_health,
    timeout_result,
)

# (container id, argv, timeout seconds) -> the exec's result; raises
# subprocess.TimeoutExpired when the probe outruns the timeout.
ProbeRunner = Callable[[str, tuple[str, ...], float], ExecResult]
# (container id, old status, new status): told of each status change.
StatusListener = Callable[[str, str, str], None]
STATE_FILE = "health.json"
PROBE_WORKERS = 8


@dataclass
class _Track:
    config: HealthConfig
    started_at: float  # Unix seconds the container started
    generation: int


class HealthMonitor:
    def __init__(self, run_probe: ProbeRunner, state_dir: Callable[[str], str], *,
                 on_status: StatusListener | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._run_probe = run_probe
        self._state_dir = state_dir
        self._on_status = on_status
        self._clock = clock
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._tracks: dict[str, _Track] = {}
        self._health: dict[str, Health] = {}
        self._heap: list[tuple[float, int, str, int]] = []  # (due, seq, id, generation)
        self._seq = itertools.count()
        self._generations = itertools.count(1)
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._closing = False

    # ----------------------------------------------------------------- lifecycle

    def close(self) -> None:
        with self._lock:
            self._closing = True
            self._wakeup.notify_all()
            thread, pool = self._thread, self._pool
            self._thread = self._pool = None
        if thread is not None:
            thread.join()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _ensure_running(self) -> None:
        """Called with the lock held: the thread and pool start with the first track."""
        if self._thread is None and not self._closing:
            self._pool = ThreadPoolExecutor(PROBE_WORKERS, thread_name_prefix="dockyard-probe")
            self._thread = threading.Thread(target=self._run, name="dockyard-health",
                                            daemon=True)
            self._thread.start()

    # ------------------------------------------------------------------ tracking

    def start(self, container_id: str, config: HealthConfig, started_at: float, *,
              adopted: bool = False) -> None:
        """Probe the container from now on. A fresh start resets the health to
        ``starting``; an adopted one (a new daemon, the container kept running) goes on
        from its saved health."""
        if config.disabled:
            return
        previous = self.health(container_id)
        health = Health() if previous is None else (
            previous if adopted else previous.restarted())
        with self._lock:
            track = _Track(config, started_at, next(self._generations))
            self._tracks[container_id] = track
            self._health[container_id] = health
            now = self._clock()
            delay = next_delay(health, now=now, started_at=started_at, config=config)
            self._push(now + delay, container_id, track.generation)
            self._ensure_running()
        if not adopted:
            self._persist(container_id, health)

    def stop(self, container_id: str) -> None:
        """No more probes (the container stopped); its last health stays readable."""
        with self._lock:
            self._tracks.pop(container_id, None)

    def forget(self, container_id: str) -> None:
        """The container is gone."""
        with self._lock:
            self._tracks.pop(container_id, None)
            self._health.pop(container_id, None)

    def health(self, container_id: str) -> Health | None:
        with self._lock:
            known = self._health.get(container_id)
        if known is not None:
            return known
        loaded = self._load(container_id)
        if loaded is not None:
            with self._lock:
                self._health.setdefault(container_id, loaded)
        return loaded

    # --------------------------------------------------------------- scheduling

    def _push(self, due: float, container_id: str, generation: int) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), container_id, generation))
        self._wakeup.notify_all()

    def _current(self, container_id: str, generation: int) -> _Track | None:
        track = self._tracks.get(container_id)
        return track if track is not None and track.generation == generation else None

    def _run(self) -> None:
        with self._lock:
            while not self._closing:
                while self._heap and self._current(self._heap[0][2], self._heap[0][3]) is None:
                    heapq.heappop(self._heap)  # stopped or restarted since it was queued
                if not self._heap:
                    self._wakeup.wait()
                    continue
                due = self._heap[0][0]
                now = self._clock()
                if due > now:
                    self._wakeup.wait(due - now)
                    continue
                _, _, container_id, generation = heapq.heappop(self._heap)
                track = self._tracks[container_id]
                pool = self._pool
                if pool is not None:
                    pool.submit(self._probe, container_id, track, generation)

    def _probe(self, container_id: str, track: _Track, generation: int) -> None:
        result = self._execute(container_id, track.config)
        with self._lock:
            if self._current(container_id, generation) is None:
                return
            before = self._health.get(container_id) or Health()
            after = next_health(before, result, started_at=track.started_at,
                                config=track.config)
            self._health[container_id] = after
            now = self._clock()
            delay = next_delay(after, now=now, started_at=track.started_at,
                               config=track.config)
            self._push(now + delay, container_id, generation)
        self._persist(container_id, after)
        if after.status != before.status and self._on_status is not None:
            with contextlib.suppress(Exception):
                self._on_status(container_id, before.status, after.status)

    def _execute(self, container_id: str, config: HealthConfig) -> ProbeResult:
        argv = config.probe_argv()
        assert argv is not None  # disabled configs are never tracked
        start = self._clock()
        try:
            done = self._run_probe(container_id, argv, config.timeout)
        except subprocess.TimeoutExpired:
            return timeout_result(start, self._clock(), config)
        except (DockyardError, OSError) as err:
            return error_result(start, self._clock(), str(err))
        return exec_result(start, self._clock(), done.exit_code, done.stdout, done.stderr)

    # -------------------------------------------------------------- persistence

    def _path(self, container_id: str) -> str:
        return os.path.join(self._state_dir(container_id), STATE_FILE)

    def _persist(self, container_id: str, health: Health) -> None:
        path = self._path(container_id)
        temp = f"{path}.tmp"
        # A container removed meanwhile has no directory: nothing to keep then.
        with contextlib.suppress(FileNotFoundError):
            with open(temp, "w") as f:
                json.dump(health.to_docker(), f)
            os.replace(temp, path)

    def _load(self, container_id: str) -> Health | None:
        try:
            with open(self._path(container_id)) as f:
                return Health.from_docker(json.load(f))
        except (OSError, ValueError, KeyError, TypeError):
            return None
