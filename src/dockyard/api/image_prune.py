"""``POST /images/prune``: which images go, decided from the filters (pure).

dockerd's rules: ``dangling`` (default true) limits pruning to images without a tag;
``dangling=false`` (``docker image prune -a``) takes every image. ``label`` keeps only
images carrying every given label, ``label!`` spares those carrying every given one,
``until`` spares images created after that time. An image any container uses, running
or stopped, is never pruned (the containerd image store's rule, which also keeps the
tags of such an image instead of untagging them).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from dockyard.api.filters import Filters, bool_filter, match_labels
from dockyard.api.timeparse import parse_time_or_duration
from dockyard.errors import InvalidParameter
from dockyard.images.config import parse_time
from dockyard.images.shapes import ImageRecord

PRUNE_FILTERS = ("dangling", "label", "label!", "until")


@dataclass(frozen=True)
class PruneRule:
    dangling_only: bool = True
    labels: tuple[str, ...] = ()
    not_labels: tuple[str, ...] = ()
    until: datetime | None = None


def prune_rule(filters: Filters, now: datetime) -> PruneRule:
    """The rule ``filters`` (already checked for unknown names) ask for."""
    dangling = bool_filter("dangling", filters.get("dangling", []))
    until_values = filters.get("until", [])
    if len(until_values) > 1:
        raise InvalidParameter("more than one until filter specified")
    until = (parse_time_or_duration(until_values[0], now, "until filter")
             if until_values else None)
    return PruneRule(dangling_only=True if dangling is None else dangling,
                     labels=tuple(filters.get("label", [])),
                     not_labels=tuple(filters.get("label!", [])),
                     until=until)


def _chosen(record: ImageRecord, rule: PruneRule) -> bool:
    if rule.dangling_only and record.repo_tags:
        return False
    if rule.until is not None and parse_time(record.created) > rule.until:
        return False
    labels = record.labels
    if rule.labels and not match_labels(list(rule.labels), labels):
        return False
    # Docker spares an image only when it carries *every* ``label!`` given.
    return not (rule.not_labels and match_labels(list(rule.not_labels), labels))


def prune_candidates(records: Iterable[ImageRecord], rule: PruneRule,
                     used: Collection[str]) -> list[ImageRecord]:
    """The images to remove, oldest first; ``used`` holds the ids containers use."""
    chosen = [r for r in records if r.id not in used and _chosen(r, rule)]
    return sorted(chosen, key=lambda r: (r.created, r.id))


def space_reclaimed(removed: Sequence[Mapping[str, str]], layer_sizes: Mapping[str, int]
                    ) -> int:
    """Bytes freed: the sizes of the layers the removals deleted (as dockerd counts)."""
    return sum(layer_sizes.get(entry.get("Deleted", ""), 0) for entry in removed)
