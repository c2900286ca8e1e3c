"""``system df``'s summary and the prune filters (pure)."""

from __future__ import annotations

from dockyard.api.filters import prune_test
from dockyard.cli.disk import summary_rows


def test_prune_filters() -> None:
    test = prune_test({"label": ["tier=web"], "label!": ["keep"]})
    assert test({"tier": "web"}, "2026-01-01T00:00:00Z")
    assert not test({"tier": "db"}, "2026-01-01T00:00:00Z")
    assert not test({"tier": "web", "keep": ""}, "2026-01-01T00:00:00Z")
    both = prune_test({"label!": ["keep", "pin"]})  # spared only with both, as dockerd
    assert both({"keep": ""}, "2026-01-01T00:00:00Z")
    assert not both({"keep": "", "pin": ""}, "2026-01-01T00:00:00Z")
    old = prune_test({"until": ["2025-06-01T00:00:00Z"]})
    assert old({}, "2025-01-01T00:00:00Z") and not old({}, "2025-07-01T00:00:00Z")


def test_df_summary_as_docker_computes_it() -> None:
    usage = {
        "LayersSize": 3000,
        "Images": [{"Size": 2000, "SharedSize": 500, "Containers": 1},
                   {"Size": 1500, "SharedSize": 500, "Containers": 0}],
        "Containers": [{"SizeRw": 100, "State": "running"}, {"State": "exited"},
                       {"SizeRw": 300, "State": "exited"}],
        "Volumes": [{"UsageData": {"Size": 50, "RefCount": 2}},
                    {"UsageData": {"Size": -1, "RefCount": 0}}],
    }
    images, containers, volumes, cache = summary_rows(usage)
    # in use: 2000 - 500 shared; the rest (1500 of 3000) can go
    assert (images["TotalCount"], images["Active"], images["Size"], images["Reclaimable"]) \
        == (2, 1, "3kB", "1.5kB (50%)")
    assert (containers["Active"], containers["Size"], containers["Reclaimable"]) == \
        (1, "400B", "300B (75%)")
    assert (volumes["Active"], volumes["Size"], volumes["Reclaimable"]) == (1, "50B", "0B (0%)")
    assert cache["Reclaimable"] == "0B"
