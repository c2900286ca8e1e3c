"""Images from rootfs tarballs and ``docker save`` archives, stored as overlayfs layers."""

from __future__ import annotations

from dockyard.images.busybox import build_busybox_rootfs_tar, ensure_busybox_image
from dockyard.images.changes import apply_changes
from dockyard.images.config import RunConfig, image_id
from dockyard.images.reference import Reference, normalize_reference, parse_reference
from dockyard.images.shapes import ImageRecord
from dockyard.images.store import ImageStore, InUse

__all__ = [
    "ImageRecord",
    "ImageStore",
    "InUse",
    "Reference",
    "RunConfig",
    "apply_changes",
    "build_busybox_rootfs_tar",
    "ensure_busybox_image",
    "image_id",
    "normalize_reference",
    "parse_reference",
]
