from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from dockyard.errors import Internal
from dockyard.images.config import RunConfig, build_import_config, image_id
from dockyard.images.history import history_items
from dockyard.images.shapes import ImageRecord

BASE, TOP = "sha256:" + "ab" * 32, "sha256:" + "cd" * 32


def record(config: bytes, diff_ids: tuple[str, ...], tags: tuple[str, ...] = ()) -> ImageRecord:
    return ImageRecord(image_id(config), config.decode(), diff_ids, 0, tags)


def test_an_imported_image_has_one_entry_named_by_the_image() -> None:
    config = build_import_config(RunConfig(), [BASE], datetime(2024, 1, 2, tzinfo=UTC),
                                 comment="Imported from -")
    items = history_items(record(config, (BASE,), ("bb:1", "bb:2")), {BASE: 1234})
    assert items == [{"Comment": "Imported from -", "Created": 1704153600, "CreatedBy": "",
                      "Id": image_id(config), "Size": 1234, "Tags": ["bb:1", "bb:2"]}]


def test_steps_take_layers_in_order_and_empty_ones_show_no_size() -> None:
    config = json.dumps({"history": [
        {"created": "2024-01-01T00:00:00Z", "created_by": "ADD x /"},
        {"created": "2024-01-02T00:00:00.5Z", "created_by": "ENV A=1", "empty_layer": True},
        {"created_by": "RUN make", "comment": "built"},
    ], "rootfs": {"type": "layers", "diff_ids": [BASE, TOP]}}).encode()
    items = history_items(record(config, (BASE, TOP)), {BASE: 10, TOP: 20})
    assert [(i["Id"], i["CreatedBy"], i["Size"], i["Created"], i["Tags"]) for i in items] == [
        (image_id(config), "RUN make", 20, 0, None),  # untagged: Tags null, as dockerd
        ("<missing>", "ENV A=1", 0, 1704153600, None),
        ("<missing>", "ADD x /", 10, 1704067200, None),
    ]


def test_more_layer_steps_than_layers_is_an_error_naming_the_image() -> None:
    config = json.dumps({"history": [{}, {}], "rootfs": {"type": "layers",
                                                         "diff_ids": [BASE]}}).encode()
    with pytest.raises(Internal, match="too many non-empty layers in History section"):
        history_items(record(config, (BASE,)), {})


def test_no_history_gives_no_entries() -> None:
    assert history_items(record(b'{"rootfs": {}}', (BASE,)), {}) == []
