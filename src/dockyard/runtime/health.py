"""Container healthchecks as values, and Docker's rules for them (pure).

:class:`HealthConfig` is a container's (or an image's) ``Config.Healthcheck``;
:func:`merge_healthcheck` applies an image's to a container that does not set its own.
:func:`next_health` is the whole state machine: from the previous :class:`Health`, one
:class:`ProbeResult`, the container's start time and the config, the new health, with
Docker's rules:

- ``starting`` until the first success, or until failures counted after the start
  period reach ``retries``;
- failures that begin inside the start period, while still ``starting``, are not counted;
- exit 0 is a success (the streak resets and the status becomes ``healthy``); any other
  exit, a timeout (exit -1) included, is a failure; ``retries`` consecutive counted
  failures make the container ``unhealthy``;
- the log keeps the last :data:`MAX_LOG` results.

:func:`next_delay` says when to probe next (``start_interval`` while starting inside the
start period, else ``interval``). Times are Unix seconds as floats; durations in the
config are nanoseconds, as the Engine API has them, 0 meaning Docker's default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from dockyard.errors import InvalidParameter

NS = 1_000_000_000
DEFAULT_INTERVAL_NS = 30 * NS
DEFAULT_TIMEOUT_NS = 30 * NS
DEFAULT_START_INTERVAL_NS = 5 * NS
DEFAULT_RETRIES = 3
MIN_DURATION_NS = 1_000_000  # Docker refuses any duration below 1 ms (0 is "default")
MAX_LOG = 5
MAX_OUTPUT = 4096  # bytes of a probe's output kept in the log, as Docker keeps

STARTING = "starting"
HEALTHY = "healthy"
UNHEALTHY = "unhealthy"
NO_HEALTHCHECK = "none"  # the ``health`` list filter's word for "no healthcheck"


@dataclass(frozen=True)
class HealthConfig:
    """``Test`` is ``()`` (inherit the image's), ``("NONE",)``, ``("CMD", argv...)`` or
    ``("CMD-SHELL", command)``."""

    test: tuple[str, ...] = ()
    interval_ns: int = 0
    timeout_ns: int = 0
    retries: int = 0
    start_period_ns: int = 0
    start_interval_ns: int = 0

    @property
    def disabled(self) -> bool:
        return not self.test or self.test[0] == "NONE"

    @property
    def interval(self) -> float:
        return (self.interval_ns or DEFAULT_INTERVAL_NS) / NS

    @property
    def timeout(self) -> float:
        return (self.timeout_ns or DEFAULT_TIMEOUT_NS) / NS

    @property
    def start_period(self) -> float:
        return self.start_period_ns / NS

    @property
    def start_interval(self) -> float:
        return (self.start_interval_ns or DEFAULT_START_INTERVAL_NS) / NS

    @property
    def max_failures(self) -> int:
        return self.retries if self.retries > 0 else DEFAULT_RETRIES

    def to_docker(self) -> dict[str, Any]:
        """Docker's JSON (zero fields left out, as its ``omitempty`` does)."""
        doc: dict[str, Any] = {}
        if self.test:
            doc["Test"] = list(self.test)
        for key, value in (("Interval", self.interval_ns), ("Timeout", self.timeout_ns),
                           ("StartPeriod", self.start_period_ns),
                           ("StartInterval", self.start_interval_ns),
                           ("Retries", self.retries)):
            if value:
                doc[key] = value
        return doc

    @classmethod
    def from_docker(cls, doc: Mapping[str, Any], where: str = "Healthcheck") -> HealthConfig:
        """From Docker's JSON, checked as dockerd checks a create request."""
        test = doc.get("Test") or []
        if not isinstance(test, list) or not all(isinstance(t, str) for t in test):
            raise InvalidParameter(f'invalid JSON: field "{where}.Test" must be an array of '
                                   "strings")
        values: dict[str, int] = {}
        for key in ("Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"):
            value = doc.get(key) or 0
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidParameter(f'invalid JSON: field "{where}.{key}" must be an '
                                       "integer")
            values[key] = value
        config = cls(tuple(test), values["Interval"], values["Timeout"], values["Retries"],
                     values["StartPeriod"], values["StartInterval"])
        config.validate()
        return config

    def validate(self) -> None:
        for name, value in (("Interval", self.interval_ns), ("Timeout", self.timeout_ns),
                            ("StartPeriod", self.start_period_ns),
                            ("StartInterval", self.start_interval_ns)):
            if value != 0 and value < MIN_DURATION_NS:
                raise InvalidParameter(f'invalid healthcheck {name} "{value}": {name} in '
                                       "Healthcheck cannot be less than 1ms")
        if self.retries < 0:
            raise InvalidParameter(f'invalid healthcheck Retries "{self.retries}": Retries in '
                                   "Healthcheck cannot be negative")
        if self.test and self.test[0] not in ("NONE", "CMD", "CMD-SHELL"):
            raise InvalidParameter(f'invalid healthcheck Test "{self.test[0]}": expected '
                                   "NONE, CMD or CMD-SHELL")
        if self.test and self.test[0] in ("CMD", "CMD-SHELL") and len(self.test) < 2:
            raise InvalidParameter(f'invalid healthcheck Test {list(self.test)}: '
                                   f"{self.test[0]} needs a command")

    def probe_argv(self) -> tuple[str, ...] | None:
        """What runs in the container for one probe; None when disabled."""
        if self.disabled:
            return None
        if self.test[0] == "CMD-SHELL":
            return ("/bin/sh", "-c", *self.test[1:])
        return self.test[1:]


def merge_healthcheck(own: HealthConfig | None, image: HealthConfig | None
                      ) -> HealthConfig | None:
    """The container's healthcheck over the image's: its test when it has one, and each
    timing it leaves at zero taken from the image (Docker's merge at create)."""
    if own is None:
        return image
    if image is None:
        return own
    return HealthConfig(
        test=own.test or image.test,
        interval_ns=own.interval_ns or image.interval_ns,
        timeout_ns=own.timeout_ns or image.timeout_ns,
        retries=own.retries or image.retries,
        start_period_ns=own.start_period_ns or image.start_period_ns,
        start_interval_ns=own.start_interval_ns or image.start_interval_ns,
    )


@dataclass(frozen=True)
class ProbeResult:
    start: float
    end: float
    exit_code: int
    output: str

    def to_docker(self) -> dict[str, Any]:
        return {"Start": _rfc3339(self.start), "End": _rfc3339(self.end),
                "ExitCode": self.exit_code, "Output": self.output}

    @classmethod
    def from_docker(cls, doc: Mapping[str, Any]) -> ProbeResult:
        return cls(_parse_time(doc["Start"]), _parse_time(doc["End"]), int(doc["ExitCode"]),
                   str(doc["Output"]))


@dataclass(frozen=True)
class Health:
    status: str = STARTING
    failing_streak: int = 0
    log: tuple[ProbeResult, ...] = ()

    def to_docker(self) -> dict[str, Any]:
        return {"Status": self.status, "FailingStreak": self.failing_streak,
                "Log": [r.to_docker() for r in self.log]}

    @classmethod
    def from_docker(cls, doc: Mapping[str, Any]) -> Health:
        return cls(str(doc["Status"]), int(doc["FailingStreak"]),
                   tuple(ProbeResult.from_docker(r) for r in doc.get("Log") or []))

    def restarted(self) -> Health:
        """At each start: ``starting`` again with no streak; the log is kept."""
        return replace(self, status=STARTING, failing_streak=0)


def next_health(previous: Health, result: ProbeResult, *, started_at: float,
                config: HealthConfig) -> Health:
    """The health after ``result``, for a container started at ``started_at``."""
    log = (*previous.log, result)[-MAX_LOG:]
    if result.exit_code == 0:
        return Health(HEALTHY, 0, log)
    in_start_period = result.start - started_at < config.start_period
    if previous.status == STARTING and in_start_period:
        return Health(previous.status, previous.failing_streak, log)
    streak = previous.failing_streak + 1
    status = UNHEALTHY if streak >= config.max_failures else previous.status
    return Health(status, streak, log)


def next_delay(health: Health, *, now: float, started_at: float, config: HealthConfig
               ) -> float:
    """Seconds until the next probe, counted from the end of the last one (or the start)."""
    if health.status == STARTING and now - started_at < config.start_period:
        return config.start_interval
    return config.interval


def exec_result(start: float, end: float, exit_code: int, stdout: bytes, stderr: bytes
                ) -> ProbeResult:
    output = (stdout + stderr)[:MAX_OUTPUT].decode(errors="replace")
    return ProbeResult(start, end, exit_code, output)


def timeout_result(start: float, end: float, config: HealthConfig) -> ProbeResult:
    """A probe that outran its timeout: a failure with exit -1 and Docker's message."""
    timeout_ns = config.timeout_ns or DEFAULT_TIMEOUT_NS
    return ProbeResult(start, end, -1,
                       f"Health check exceeded timeout ({go_duration(timeout_ns)})")


def error_result(start: float, end: float, message: str) -> ProbeResult:
    """A probe that could not be run at all (Docker: exit -1, the error as output)."""
    return ProbeResult(start, end, -1, message)


def go_duration(ns: int) -> str:
    """Go's ``time.Duration`` text for the durations a healthcheck uses: ``30s``,
    ``200ms``, ``1m30s``, ``1.5s``."""
    if ns < NS:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000)):
            if ns >= size:
                return _trim(ns / size) + unit
        return f"{ns}ns"
    hours, rest = divmod(ns, 3600 * NS)
    minutes, rest = divmod(rest, 60 * NS)
    seconds = _trim(rest / NS) + "s"
    if hours:
        return f"{hours}h{minutes}m{seconds}"
    return f"{minutes}m{seconds}" if minutes else seconds


def _trim(value: float) -> str:
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return text or "0"


def _rfc3339(seconds: float) -> str:
    stamp = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="microseconds")
    return stamp.replace("+00:00", "Z")


def _parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def config_from_doc(doc: Mapping[str, Any] | None) -> HealthConfig | None:
    """From the store's document (Docker's JSON shape), without re-validation."""
    if doc is None:
        return None
    return HealthConfig(tuple(doc.get("Test") or ()), int(doc.get("Interval") or 0),
                        int(doc.get("Timeout") or 0), int(doc.get("Retries") or 0),
                        int(doc.get("StartPeriod") or 0), int(doc.get("StartInterval") or 0))

