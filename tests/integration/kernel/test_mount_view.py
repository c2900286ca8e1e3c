"""A detached overlay view of layers, mounted either way the kernel allows: each layer
as its own ``lowerdir+`` (Linux 6.8) or all in one ``lowerdir`` by descriptor (older)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.kernel.rootfs import mount_view

pytestmark = pytest.mark.root


@pytest.mark.parametrize("one_by_one", [True, False], ids=["lowerdir+", "by-descriptor"])
def test_the_top_layer_wins_and_a_whiteout_hides(tmp_path: Path, one_by_one: bool) -> None:
    top, bottom = tmp_path / ("t" * 120), tmp_path / ("b" * 120)  # long: one value of
    for layer in (top, bottom):                                     # both is > 256 bytes
        layer.mkdir()
    (bottom / "shared").write_text("bottom\n")
    (bottom / "only-below").write_text("below\n")
    (top / "shared").write_text("top\n")
    with mount_view([str(top), str(bottom)], what="test", one_by_one=one_by_one) as view:
        assert view.read_file("/shared") == b"top\n"
        assert view.read_file("/only-below") == b"below\n"
