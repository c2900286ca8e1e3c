from __future__ import annotations

import pytest

from dockyard.errors import InvalidParameter
from dockyard.images.reference import Reference, normalize_reference, parse_reference


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("busybox", "busybox:latest"),
        ("busybox:1.36", "busybox:1.36"),
        ("library/busybox", "busybox:latest"),
        ("docker.io/library/busybox:musl", "busybox:musl"),
        ("docker.io/me/app", "me/app:latest"),
        ("me/app:v1.2-rc_3", "me/app:v1.2-rc_3"),
        ("localhost:5000/x:y", "localhost:5000/x:y"),
        ("localhost/x", "localhost/x:latest"),
        ("registry.example.com/team/app__x.y-z", "registry.example.com/team/app__x.y-z:latest"),
    ],
)
def test_normalizes_to_the_familiar_form(text: str, expected: str) -> None:
    assert normalize_reference(text) == expected


def test_parse_keeps_parts() -> None:
    assert parse_reference("localhost:5000/x:y") == Reference("localhost:5000/x", "y")
    assert parse_reference("x").tag == "latest"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Busybox", "repository name (library/Busybox) must be lowercase"),
        ("me/App:1", "repository name (me/App) must be lowercase"),
        ("busybox:-bad", 'invalid tag "-bad"'),
        ("busybox:" + "a" * 129, "invalid tag"),
        ("bad//name", '"bad//name"'),
        ("", "must not be empty"),
        ("a" * 64, "cannot specify 64-byte hexadecimal strings"),
        ("x@sha256:zz", "invalid digest"),
    ],
)
def test_rejects_invalid_references_naming_them(text: str, fragment: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        normalize_reference(text)
    assert "invalid" in str(info.value)
    assert fragment in str(info.value)


def test_digest_references_cannot_be_tags() -> None:
    digest = "sha256:" + "a" * 64
    assert parse_reference(f"busybox@{digest}").digest == digest
    with pytest.raises(InvalidParameter, match="digest reference"):
        normalize_reference(f"busybox@{digest}")
