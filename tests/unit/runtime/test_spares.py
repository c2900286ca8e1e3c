"""Spare directory trees: what a removed container or sandbox leaves is emptied before the
next one gets it, and the pool stays bounded."""

from __future__ import annotations

import os
from pathlib import Path

from dockyard.spares import DIR, FILE, SpareDirs

LAYOUT = {"upper": DIR, "work": DIR, "json.log": FILE}


def used_tree(path: Path) -> str:
    (path / "upper" / "etc").mkdir(parents=True)
    (path / "upper" / "etc" / "secret").write_text("from the last container\n")
    (path / "work").mkdir()
    (path / "json.log").write_text('{"log":"old output"}\n')
    (path / "config.extra").write_text("not in the layout\n")
    os.chmod(path / "upper", 0o700)
    os.setxattr(path / "upper", "user.mark", b"old")
    return str(path)


def test_a_given_tree_comes_back_empty(tmp_path: Path) -> None:
    spares = SpareDirs(str(tmp_path / "pool"), LAYOUT)
    spares.give(used_tree(tmp_path / "c1"))
    assert not (tmp_path / "c1").exists() and len(spares) == 1
    assert spares.take(str(tmp_path / "c2"))
    tree = tmp_path / "c2"
    assert sorted(os.listdir(tree)) == ["json.log", "upper", "work"]
    assert os.listdir(tree / "upper") == [] and (tree / "json.log").read_text() == ""
    assert oct(os.stat(tree / "upper").st_mode & 0o777) == "0o755"
    assert os.listxattr(tree / "upper") == []
    assert not spares.take(str(tmp_path / "c3"))  # the pool is empty again


def test_the_pool_is_bounded_and_outlives_its_owner(tmp_path: Path) -> None:
    spares = SpareDirs(str(tmp_path / "pool"), LAYOUT, limit=2)
    for i in range(3):
        spares.give(used_tree(tmp_path / f"c{i}"))
    assert len(spares) == 2 and not (tmp_path / "c2").exists()
    again = SpareDirs(str(tmp_path / "pool"), LAYOUT, limit=2)  # the next daemon
    assert again.take(str(tmp_path / "n0")) and again.take(str(tmp_path / "n1"))
    assert not again.take(str(tmp_path / "n2"))


def test_a_tree_already_gone_or_cleared_is_fine(tmp_path: Path) -> None:
    spares = SpareDirs(str(tmp_path / "pool"), LAYOUT)
    spares.give(str(tmp_path / "never-made"))
    assert len(spares) == 0
    spares.give(used_tree(tmp_path / "c1"))
    spares.clear()
    assert not (tmp_path / "pool").exists() and not spares.take(str(tmp_path / "c2"))
