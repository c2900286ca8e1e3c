"""A container's upper directory written as a layer tar, and read back as a layer: what
overlayfs spells as whiteouts and opaque directories travels as ``.wh.`` names."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from dockyard.images.layers import extract_layer
from dockyard.runtime.layer_tar import write_upper_layer

pytestmark = pytest.mark.root
OPAQUE = "trusted.overlay.opaque"


def make_upper(upper: Path) -> None:
    (upper / "etc").mkdir(parents=True)
    (upper / "etc" / "conf").write_text("changed\n")
    os.mknod(upper / "etc" / "gone", stat.S_IFCHR | 0o600, os.makedev(0, 0))  # a whiteout
    (upper / "data").mkdir()
    os.setxattr(upper / "data", OPAQUE, b"y")  # deleted and made again
    (upper / "data" / "new").write_text("fresh\n")
    (upper / "twin1").write_text("same inode\n")
    os.link(upper / "twin1", upper / "twin2")
    os.symlink("/etc/conf", upper / "link")
    os.mkfifo(upper / "pipe")


def test_whiteouts_opaque_dirs_and_links_become_layer_tar_entries(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    make_upper(upper)
    out = io.BytesIO()
    write_upper_layer(str(upper), out)
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert members["etc/conf"].isfile() and members["etc/conf"].size == 8
        assert members["etc/.wh.gone"].isfile() and members["etc/.wh.gone"].size == 0
        assert "etc/gone" not in members
        assert members["data/.wh..wh..opq"].isfile()
        assert members["twin1"].isfile() and members["twin2"].islnk()
        assert members["twin2"].linkname == "twin1"
        assert members["link"].issym() and members["link"].linkname == "/etc/conf"
        assert members["pipe"].isfifo()
        assert not any(k.startswith("SCHILY.xattr.trusted.overlay")
                       for m in members.values() for k in m.pax_headers)

    out.seek(0)
    layer = tmp_path / "layer"
    layer.mkdir()
    extract_layer(out, str(layer))
    gone = os.lstat(layer / "etc" / "gone")
    assert stat.S_ISCHR(gone.st_mode) and gone.st_rdev == 0  # a whiteout again
    assert os.getxattr(layer / "data", OPAQUE) == b"y"
    assert (layer / "data" / "new").read_text() == "fresh\n"
    assert os.stat(layer / "twin1").st_ino == os.stat(layer / "twin2").st_ino


def test_a_missing_upper_directory_is_an_empty_layer(tmp_path: Path) -> None:
    out = io.BytesIO()
    write_upper_layer(str(tmp_path / "none"), out)
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        assert tar.getmembers() == []
