"""Container sizes as Docker counts them, and as ``docker ps -s`` prints them."""

from __future__ import annotations

import os
from pathlib import Path

from dockyard.cli.container import format_size
from dockyard.runtime.disk import tree_size


def test_tree_size_counts_file_bytes_once_and_not_directories(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "data").write_bytes(b"x" * 1000)
    (tmp_path / "top").write_bytes(b"y" * 234)
    os.link(tmp_path / "top", tmp_path / "a" / "hardlink")  # the same bytes, once
    os.symlink("/a/long/target/path", tmp_path / "link")  # the link itself: 19 bytes
    (tmp_path / "empty").touch()
    assert tree_size(str(tmp_path)) == 1000 + 234 + len("/a/long/target/path")
    assert tree_size(str(tmp_path / "missing")) == 0


def test_ps_size_column_as_docker_prints_it() -> None:
    assert format_size({"SizeRw": 12, "SizeRootFs": 1_234_567}) == "12B (virtual 1.23MB)"
    assert format_size({"SizeRw": 12_345, "SizeRootFs": 0}) == "12.3kB"
    assert format_size({}) == "0B"  # a list made without size=1
