"""Docker's time arguments (``since``, ``until``): timestamps, RFC 3339, Go durations."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from dockyard.errors import InvalidParameter

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str) -> float | None:
    """Seconds of a Go duration (``1h30m``), or None when ``value`` is not one."""
    pos, total = 0, 0.0
    for match in _DURATION.finditer(value):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    return total if pos == len(value) and value else None


def parse_time_or_duration(value: str, now: datetime, field: str) -> datetime:
    seconds = parse_duration(value)
    if seconds is not None:
        return now - timedelta(seconds=seconds)
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter(
            f'invalid {field} "{value}": expected a timestamp, an RFC 3339 time or a '
            "duration such as 10m") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_stored_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
