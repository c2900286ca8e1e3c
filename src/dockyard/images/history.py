"""``GET /images/{name}/history``: an image's config history as Docker shows it (pure).

Each config ``history`` entry is one step of the image's making; the steps that made a
layer (``empty_layer`` unset) take the image's layers in order, bottom first, and show
that layer's size. Docker lists them newest first. Only the newest entry names the
image (id and tags): the images behind the older steps exist on the machine that built
it, not here, so they show as ``<missing>`` as dockerd shows them for a loaded image;
those of images committed or built here, whose parents are still here, show them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dockyard.errors import Internal
from dockyard.images.config import parse_time
from dockyard.images.shapes import ImageRecord

MISSING = "<missing>"


def _created(entry: Mapping[str, Any]) -> int:
    stamp = entry.get("created")
    if not isinstance(stamp, str) or not stamp:
        return 0
    try:
        return int(parse_time(stamp).timestamp())
    except ValueError:
        return 0  # dockerd shows a time it cannot read as the zero time too


def history_items(record: ImageRecord, layer_sizes: Mapping[str, int],
                  ancestors: Sequence[ImageRecord] = ()) -> list[dict[str, Any]]:
    """The response items, newest first; ``layer_sizes`` maps diff ids to bytes.
    ``ancestors``: the images ``record`` was made from here (its parent, the parent's
    parent, ...), each naming the step that made it, as dockerd shows a local build."""
    entries = record.config.get("history") or []
    items: list[dict[str, Any]] = []
    layer = 0
    for entry in entries if isinstance(entries, list) else []:
        entry = entry if isinstance(entry, dict) else {}
        size = 0
        if not entry.get("empty_layer"):
            if layer >= len(record.diff_ids):
                raise Internal(f"image {record.short_id}: too many non-empty layers in "
                               "History section")
            size = int(layer_sizes.get(record.diff_ids[layer], 0))
            layer += 1
        items.append({"Comment": str(entry.get("comment") or ""),
                      "Created": _created(entry),
                      "CreatedBy": str(entry.get("created_by") or ""),
                      "Id": MISSING, "Size": size, "Tags": None})
    for image in (record, *ancestors):
        steps = image.config.get("history")
        if isinstance(steps, list) and 0 < len(steps) <= len(items):
            items[len(steps) - 1]["Id"] = image.id
            items[len(steps) - 1]["Tags"] = list(image.repo_tags) or None
    items.reverse()
    return items
