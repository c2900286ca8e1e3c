"""Go-style durations (``1m30s``, ``500ms``, ``1.5h``), the format compose uses for
healthcheck timings and ``stop_grace_period``. Values are kept as integer nanoseconds."""

from __future__ import annotations

import re
from decimal import Decimal

_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_PART = re.compile(r"([0-9]*\.?[0-9]+|[0-9]+\.)(ns|us|µs|μs|ms|s|m|h)")

SECOND = 1_000_000_000


def parse_duration(text: str | int | float) -> int:
    """Nanoseconds in a Go duration string; raises ValueError with the reason."""
    if isinstance(text, bool):
        raise ValueError("not a duration")
    if isinstance(text, int | float):
        # Bare numbers are seconds (compose-go accepts them for stop_grace_period).
        return int(Decimal(str(text)) * SECOND)
    raw = text.strip()
    if raw in ("0", "+0", "-0"):
        return 0
    sign = 1
    if raw[:1] in ("+", "-"):
        sign = -1 if raw[0] == "-" else 1
        raw = raw[1:]
    if not raw:
        raise ValueError("empty duration")
    total = Decimal(0)
    pos = 0
    while pos < len(raw):
        match = _PART.match(raw, pos)
        if match is None:
            if raw[pos:].replace(".", "", 1).isdigit():
                raise ValueError("missing unit in duration")
            raise ValueError("unknown unit or malformed duration")
        total += Decimal(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    return sign * int(total)


def format_duration(ns: int) -> str:
    """Go's ``time.Duration.String()``: ``1m30s``, ``1h0m0s``, ``500ms``, ``0s``."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < SECOND:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size:
                return sign + _trim(Decimal(ns) / size) + unit
    hours, rest = divmod(ns, 3_600 * SECOND)
    minutes, rest = divmod(rest, 60 * SECOND)
    seconds = _trim(Decimal(rest) / SECOND) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return sign + seconds


def _trim(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
