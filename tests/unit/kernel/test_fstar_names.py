"""Names of uploaded tar members (pure): what may be extracted where."""

from __future__ import annotations

import tarfile
from typing import Any

import pytest

from dockyard.errors import InvalidParameter
from dockyard.kernel.fstar import ExtractOptions, _Extractor


def _extractor() -> _Extractor:
    none: Any = None  # neither the root nor the tar is used to name a member
    return _Extractor(root=none, dest="/srv", options=ExtractOptions(), tar=none)


def test_members_land_below_the_destination() -> None:
    assert _extractor().target(tarfile.TarInfo("a/b")) == "/srv/a/b"
    assert _extractor().target(tarfile.TarInfo("./")) is None
    with pytest.raises(InvalidParameter, match="outside"):
        _extractor().target(tarfile.TarInfo("../etc/passwd"))


def test_a_nul_in_a_name_or_link_is_refused() -> None:
    """A PAX header can carry a NUL that a plain header cannot: it must be a 400, not a
    500 from the system call, nor a name cut short at the NUL."""
    with pytest.raises(InvalidParameter, match="NUL"):
        _extractor().target(tarfile.TarInfo("ok\0/../../x"))
    link = tarfile.TarInfo("l")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc\0x"
    with pytest.raises(InvalidParameter, match="NUL"):
        _extractor().target(link)
