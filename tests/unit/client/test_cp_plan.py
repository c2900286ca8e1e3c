"""``cp``'s client-side decisions, as the docker CLI makes them."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from dockyard.cli.files import CopyError, _local_archive, _local_source, plan_copy, split_cp_arg


def test_container_and_local_arguments() -> None:
    assert split_cp_arg("web:/etc/hostname") == ("web", "/etc/hostname")
    assert split_cp_arg("web:etc") == ("web", "etc")
    assert split_cp_arg("/tmp/a:b") == ("", "/tmp/a:b")  # absolute: always local
    assert split_cp_arg("./a:b") == ("", "./a:b")
    assert split_cp_arg("plain") == ("", "plain")
    assert split_cp_arg("-") == ("", "-")


def test_where_a_copy_lands() -> None:
    # Into an existing directory: the copy keeps its own name.
    assert plan_copy(False, "/tmp/dir", True, True) == ("/tmp/dir", None)
    # Over an existing file, or a new name: it takes the destination's name.
    assert plan_copy(False, "/tmp/file", True, False) == ("/tmp", "file")
    assert plan_copy(True, "/tmp/new", False, False) == ("/tmp", "new")
    assert plan_copy(False, "/tmp/new", False, False) == ("/tmp", "new")
    assert plan_copy(True, "/tmp/new/.", False, False) == ("/tmp/new", ".")
    with pytest.raises(CopyError, match="cannot copy directory"):
        plan_copy(True, "/tmp/file", True, False)
    with pytest.raises(CopyError, match="no such directory"):
        plan_copy(False, "/tmp/new/", False, False)


def test_local_sources_are_archived_under_the_name_they_will_take(tmp_path: Path) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "sub" / "f").write_bytes(b"1")
    (tmp_path / "link").symlink_to(tmp_path / "d")
    resolved, top, is_dir = _local_source(f"{tmp_path}/d/.", follow=False)
    assert (top, is_dir) == (".", True)
    buffer = io.BytesIO()
    _local_archive(resolved, top, buffer)
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as tar:
        assert tar.getnames() == [".", "./sub", "./sub/f"]
    # Without -L a link is copied as a link; with it, as its target under the link's name.
    assert _local_source(f"{tmp_path}/link", follow=False)[1:] == ("link", False)
    resolved, top, is_dir = _local_source(f"{tmp_path}/link", follow=True)
    assert (resolved, top, is_dir) == (f"{tmp_path}/d", "link", True)
    with pytest.raises(CopyError, match="no such file or directory"):
        _local_source(f"{tmp_path}/missing", follow=False)
