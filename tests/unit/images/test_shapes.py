from __future__ import annotations

from datetime import UTC, datetime

from dockyard.images.config import RunConfig, build_import_config, image_id
from dockyard.images.shapes import ImageRecord, inspect_doc, list_item

DIFF = "sha256:" + "cd" * 32


def record() -> ImageRecord:
    config = build_import_config(
        RunConfig(cmd=("sh",), exposed_ports=("80/tcp",), labels=(("tier", "web"),)),
        [DIFF], datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), comment="Imported from -",
        architecture="amd64")
    return ImageRecord(image_id(config), config.decode(), (DIFF,), 1234, ("web:1",),
                       "2024-01-03T00:00:00Z")


def test_list_item_shape() -> None:
    item = list_item(record())
    assert set(item) == {"Containers", "Created", "Id", "Labels", "ParentId", "RepoDigests",
                         "RepoTags", "SharedSize", "Size", "VirtualSize"}
    assert item["Created"] == 1704164645
    assert item["RepoTags"] == ["web:1"]
    assert item["Labels"] == {"tier": "web"}
    assert item["Id"].startswith("sha256:") and len(item["Id"]) == 71


def test_inspect_shape() -> None:
    doc = inspect_doc(record(), ["/layers/top", "/layers/bottom"])
    assert doc["Config"]["ExposedPorts"] == {"80/tcp": {}}
    assert doc["Config"]["Cmd"] == ["sh"]
    assert doc["Created"] == "2024-01-02T03:04:05Z"
    assert doc["RootFS"] == {"Type": "layers", "Layers": [DIFF]}
    assert doc["Metadata"] == {"LastTagTime": "2024-01-03T00:00:00Z"}
    assert doc["Comment"] == "Imported from -"
    assert doc["Architecture"] == "amd64" and doc["Os"] == "linux"
    assert doc["GraphDriver"]["Data"]["LowerDir"] == "/layers/top:/layers/bottom"


def test_never_tagged_image_has_go_zero_time() -> None:
    untagged = ImageRecord("sha256:" + "0" * 64, record().config_json, (DIFF,), 1)
    assert inspect_doc(untagged, [])["Metadata"]["LastTagTime"] == "0001-01-01T00:00:00Z"
