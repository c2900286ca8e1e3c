"""Docker's ``filters`` query parameter, parsed and matched (pure).

Clients send a JSON object mapping a filter name to its values, either as Docker's
modern form ``{"name": {"web": true}}`` or the legacy list ``{"name": ["web"]}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping

from dockyard.errors import InvalidParameter

Filters = dict[str, list[str]]


def parse_filters(raw: str | None, allowed: Iterable[str]) -> Filters:
    """The filters in ``raw``; unknown names are refused as Docker does (400)."""
    if not raw:
        return {}
    try:
        doc = json.loads(raw)
    except ValueError as err:
        raise InvalidParameter(f'invalid filters "{raw}": {err}') from None
    if not isinstance(doc, dict):
        raise InvalidParameter(f'invalid filters "{raw}": expected a JSON object')
    allowed = set(allowed)
    result: Filters = {}
    for name, values in doc.items():
        if name not in allowed:
            raise InvalidParameter(f"invalid filter '{name}'")
        if isinstance(values, dict):
            result[name] = [str(v) for v, on in values.items() if on]
        elif isinstance(values, list):
            result[name] = [str(v) for v in values]
        elif isinstance(values, str):
            result[name] = [values]
        else:
            raise InvalidParameter(f"invalid filter '{name}': values must be a list or a map")
    return result


def match_any(patterns: list[str], value: str) -> bool:
    """Docker's ``Match``: each value is a regular expression searched in ``value`` (a
    value that is not a valid expression is a plain substring)."""
    for pattern in patterns:
        try:
            if re.search(pattern, value):
                return True
        except re.error:
            if pattern in value:
                return True
    return False


def match_labels(patterns: list[str], labels: Mapping[str, str]) -> bool:
    """Every ``key`` or ``key=value`` must hold (Docker's ``MatchKVList``)."""
    for pattern in patterns:
        key, sep, value = pattern.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


def bool_filter(name: str, values: list[str]) -> bool | None:
    """A true/false filter such as ``dangling``; None when absent."""
    if not values:
        return None
    truth = {"true": True, "1": True, "false": False, "0": False}
    chosen = {truth.get(v.lower()) for v in values}
    if None in chosen or len(chosen) > 1:
        raise InvalidParameter(f"invalid filter '{name}={values[0]}'")
    return chosen.pop()


def prune_test(filters: Filters) -> Callable[[Mapping[str, str], str], bool]:
    """Docker's prune filters as one test of an object's labels and creation time (its
    stored ISO form): ``label`` must all hold; ``label!`` spares an object only if all
    of them hold (dockerd's MatchKVList, as for images); ``until`` keeps only what was
    created before it (a timestamp or a duration back from now)."""
    from datetime import UTC, datetime

    from dockyard.api.timeparse import parse_stored_time, parse_time_or_duration

    now = datetime.now(UTC)
    until = [parse_time_or_duration(v, now, "until") for v in filters.get("until", [])]
    wanted, unwanted = filters.get("label", []), filters.get("label!", [])

    def test(labels: Mapping[str, str], created: str) -> bool:
        if wanted and not match_labels(wanted, labels):
            return False
        if unwanted and match_labels(unwanted, labels):
            return False
        return not until or parse_stored_time(created) < min(until)
    return test
