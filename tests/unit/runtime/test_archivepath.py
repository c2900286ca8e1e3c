"""``docker cp``'s pure rules: Go file modes and times, dockerd's path stat header, path
cleaning with trailing ``/`` and ``/.``, archive entry names, links resolved in scope."""

from __future__ import annotations

import io
import stat
import tarfile
from datetime import UTC, timedelta, timezone

import pytest

from dockyard.archivepath import (
    GoTarSink,
    archive_base,
    container_path,
    decode_stat_header,
    encode_stat_header,
    follow_in_scope,
    go_file_mode,
    go_time,
    member_name,
    path_stat,
    rebase_for_link,
    rebase_name,
    split_dir_entry,
)
from dockyard.errors import InvalidParameter


def test_file_modes_carry_gos_type_bits() -> None:
    assert go_file_mode(stat.S_IFREG | 0o644) == 0o644
    assert go_file_mode(stat.S_IFDIR | 0o755) == (1 << 31) | 0o755
    # What dockerd answers for busybox's /bin/sh link: 134218239.
    assert go_file_mode(stat.S_IFLNK | 0o777) == 134218239
    assert go_file_mode(stat.S_IFCHR | 0o666) == (1 << 26) | (1 << 21) | 0o666
    assert go_file_mode(stat.S_IFBLK | 0o660) == (1 << 26) | 0o660
    assert go_file_mode(stat.S_IFIFO | 0o600) == (1 << 25) | 0o600
    assert go_file_mode(stat.S_IFSOCK | 0o755) == (1 << 24) | 0o755
    assert go_file_mode(stat.S_IFREG | 0o4755) == (1 << 23) | 0o755
    assert go_file_mode(stat.S_IFDIR | 0o1777) == (1 << 31) | (1 << 20) | 0o777


def test_times_are_rfc3339_with_trimmed_nanoseconds() -> None:
    utc = UTC
    assert go_time(1_700_000_000_123_456_000, utc) == "2023-11-14T22:13:20.123456Z"
    assert go_time(1_700_000_000_000_000_000, utc) == "2023-11-14T22:13:20Z"
    assert go_time(1_700_000_000_000_000_001, utc) == "2023-11-14T22:13:20.000000001Z"
    east = timezone(timedelta(hours=2))
    assert go_time(1_700_000_000_500_000_000, east) == "2023-11-15T00:13:20.5+02:00"


def test_the_stat_header_is_base64_of_dockerds_json() -> None:
    doc = path_stat("hostname", stat.S_IFREG | 0o644, 13, 1_700_000_000_000_000_000,
                    tz=UTC)
    assert list(doc) == ["name", "size", "mode", "mtime", "linkTarget"]
    header = encode_stat_header(doc)
    assert header == ("eyJuYW1lIjoiaG9zdG5hbWUiLCJzaXplIjoxMywibW9kZSI6NDIwLCJtdGltZSI6IjIw"
                      "MjMtMTEtMTRUMjI6MTM6MjBaIiwibGlua1RhcmdldCI6IiJ9")
    assert decode_stat_header(header) == doc
    with pytest.raises(InvalidParameter):
        decode_stat_header("not base64 json")


@pytest.mark.parametrize(("given", "path"), [
    ("etc/hostname", "/etc/hostname"),  # relative: from the root, as dockerd reads it
    ("/etc/", "/etc/"),
    ("/etc/.", "/etc/."),
    ("/etc//./", "/etc/./"),  # Go keeps both the "." and the "/"
    ("../../etc/shadow", "/etc/shadow"),  # cannot climb above the root
    ("/a/b/../../../..", "/"),
    ("/", "/"),
    (".", "/."),
])
def test_container_paths_are_cleaned_keeping_trailing_dot_and_slash(given: str,
                                                                     path: str) -> None:
    assert container_path(given) == path


@pytest.mark.parametrize(("path", "top"), [
    ("/etc", "etc"), ("/etc/", "etc"), ("/etc/.", "."), ("/", "/"), ("/.", "."),
    ("/etc/hostname", "hostname"),
])
def test_archive_entries_start_with_the_base_name(path: str, top: str) -> None:
    assert archive_base(path) == top


def test_split_dir_entry_keeps_a_trailing_dot() -> None:
    assert split_dir_entry("/a/b") == ("/a", "b")
    assert split_dir_entry("/a/b/.") == ("/a/b", ".")
    assert split_dir_entry("/a/b/") == ("/a", "b")
    assert split_dir_entry("/") == ("/", "/")


def test_member_names_as_dockerd_writes_them() -> None:
    assert member_name("etc", "", True) == "etc/"
    assert member_name("etc", "group", False) == "etc/group"
    assert member_name(".", "", True) == "./"
    assert member_name(".", "sub/x", False) == "./sub/x"
    assert member_name("/", "bin", True) == "/bin/"
    assert member_name("", "bin/busybox", False) == "bin/busybox"  # an export


def test_links_resolve_inside_the_root() -> None:
    links = {"/evil": "/etc/shadow", "/up": "../../../../etc", "/a": "b", "/b": "/c/d",
             "/loop": "/loop", "/c": "."}

    def readlink(path: str) -> str | None:
        return links.get(path)

    assert follow_in_scope("/evil", readlink) == "/etc/shadow"
    assert follow_in_scope("/up/passwd", readlink) == "/etc/passwd"
    assert follow_in_scope("/a", readlink) == "/d"  # /a -> b -> /c/d, and /c -> .
    assert follow_in_scope("/missing/x/..", readlink) == "/missing"
    assert follow_in_scope("/../../evil", readlink) == "/etc/shadow"
    with pytest.raises(InvalidParameter, match="too many links in /loop"):
        follow_in_scope("/loop", readlink)


def test_rebasing_names_as_the_docker_cli_does() -> None:
    assert rebase_name("etc/group", "etc", "copy") == "copy/group"
    assert rebase_name("/bin/sh", "/", "out") == "out/bin/sh"
    assert rebase_for_link("/x/link", "/y/target") == ("/y/target", "link")
    assert rebase_for_link("/x/link/", "/y/target") == ("/y/target/", "link")
    assert rebase_for_link("/x/link/.", "/y/target") == ("/y/target/.", "")  # content only
    assert rebase_for_link("/x/same", "/y/same") == ("/y/same", "")


def test_archives_end_as_gos_without_record_padding() -> None:
    out = io.BytesIO()
    sink = GoTarSink(out)
    tar = tarfile.TarFile(fileobj=sink, mode="w",  # type: ignore[arg-type]
                          format=tarfile.PAX_FORMAT)
    info = tarfile.TarInfo("hostname")
    info.size = 3
    tar.addfile(info, io.BytesIO(b"web"))
    sink.close_archive(tar)
    assert len(out.getvalue()) == 512 + 512 + 1024  # docker prints it as "2.05kB"
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as reread:
        member = reread.getmember("hostname")
        assert reread.extractfile(member).read() == b"web"  # type: ignore[union-attr]
