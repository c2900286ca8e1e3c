"""The shared layer of mount points (hosts, hostname, resolv.conf, the init)."""

from __future__ import annotations

import os
from pathlib import Path

from dockyard.runtime import mountpoints


def test_the_layer_is_made_once_with_every_mount_point(tmp_path: Path) -> None:
    path = mountpoints.mount_point_layer(str(tmp_path))
    for name in ("etc/hosts", "etc/hostname", "etc/resolv.conf"):
        assert os.path.isfile(os.path.join(path, name)) and os.path.getsize(
            os.path.join(path, name)) == 0
    # No /.dyinit: a container without an init must not show one.
    assert sorted(os.listdir(path)) == ["dev", "etc", "proc", "sys"]
    for name in ("dev", "etc", "proc", "sys"):
        assert os.path.isdir(os.path.join(path, name))
    assert mountpoints.mount_point_layer(str(tmp_path)) == path
    assert sorted(os.listdir(tmp_path)) == ["mountpoints"]  # no temporary left
    # Containers run with dyinit have their own, with its mount point.
    with_init = mountpoints.mount_point_layer(str(tmp_path), init=True)
    assert sorted(os.listdir(with_init)) == [".dyinit", "dev", "etc", "proc", "sys"]


def test_it_fits_above_a_real_or_missing_etc_but_not_a_symlinked_one(tmp_path: Path) -> None:
    top, bottom = tmp_path / "top", tmp_path / "bottom"
    top.mkdir()
    bottom.mkdir()
    assert mountpoints.fits([str(top), str(bottom)])  # no /etc at all
    (bottom / "etc").mkdir()
    assert mountpoints.fits([str(top), str(bottom)])
    (top / "etc").symlink_to("usr/etc")  # the topmost layer with an /etc decides
    assert not mountpoints.fits([str(top), str(bottom)])
