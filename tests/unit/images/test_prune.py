from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dockyard.api.image_prune import (
    PruneRule,
    prune_candidates,
    prune_rule,
    space_reclaimed,
)
from dockyard.errors import InvalidParameter
from dockyard.images.config import RunConfig, build_import_config, image_id
from dockyard.images.shapes import ImageRecord

NOW = datetime(2024, 6, 1, tzinfo=UTC)


def image(day: int, tags: tuple[str, ...] = (), labels: dict[str, str] | None = None
          ) -> ImageRecord:
    run = RunConfig(labels=tuple((labels or {}).items()))
    config = build_import_config(run, ["sha256:" + f"{day:02x}" * 32],
                                 datetime(2024, 5, day, tzinfo=UTC))
    return ImageRecord(image_id(config), config.decode(), (), 0, tags)


def test_rule_defaults_to_dangling_only_and_reads_every_filter() -> None:
    assert prune_rule({}, NOW) == PruneRule(dangling_only=True)
    rule = prune_rule({"dangling": ["false"], "label": ["a=1"], "label!": ["b"],
                       "until": ["24h"]}, NOW)
    assert rule == PruneRule(False, ("a=1",), ("b",), datetime(2024, 5, 31, tzinfo=UTC))


@pytest.mark.parametrize(("filters", "message"), [
    ({"dangling": ["maybe"]}, "invalid filter 'dangling=maybe'"),
    ({"dangling": ["true", "false"]}, "invalid filter 'dangling=true'"),
    ({"until": ["1h", "2h"]}, "more than one until filter specified"),
    ({"until": ["soon"]}, 'invalid until filter "soon"'),
])
def test_bad_filters_are_refused_naming_the_value(filters: dict[str, list[str]],
                                                  message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        prune_rule(filters, NOW)


def test_dangling_only_skips_tagged_and_used_images_oldest_first() -> None:
    old, new, tagged, used = image(1), image(2), image(3, ("web:1",)), image(4)
    chosen = prune_candidates([new, tagged, used, old], PruneRule(), {used.id})
    assert chosen == [old, new]
    assert prune_candidates([new, tagged, used], PruneRule(False), {used.id}) == [new, tagged]


def test_until_and_labels() -> None:
    early, late = image(1, labels={"env": "dev"}), image(20, labels={"env": "dev", "keep": ""})
    until = PruneRule(False, until=datetime(2024, 5, 10, tzinfo=UTC))
    assert prune_candidates([early, late], until, ()) == [early]
    assert prune_candidates([early, late], PruneRule(False, labels=("keep",)), ()) == [late]
    # label! spares an image only when it carries every label given, as dockerd's rule.
    assert prune_candidates([early, late], PruneRule(False, not_labels=("keep",)), ()) == [early]
    assert prune_candidates([early, late], PruneRule(False, not_labels=("keep", "env=prod")),
                            ()) == [early, late]


def test_space_reclaimed_counts_deleted_layers_only() -> None:
    removed = [{"Untagged": "a:1"}, {"Deleted": "sha256:img"}, {"Deleted": "sha256:layer"}]
    assert space_reclaimed(removed, {"sha256:layer": 42, "sha256:other": 7}) == 42
