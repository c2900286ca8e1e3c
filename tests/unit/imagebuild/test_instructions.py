"""The meaning of one instruction's words: HEALTHCHECK, COPY's words, --chown names, and
the build cache's step keys."""

from __future__ import annotations

import pytest

from dockyard.build.dockerfile import parse_dockerfile
from dockyard.build.instructions import BuildError, copy_words, healthcheck, owner_id, step_key
from dockyard.errors import InvalidParameter

PASSWD = b"root:x:0:0:root:/root:/bin/sh\napp:x:1234:1235::/home/app:/bin/sh\n"
GROUP = b"root:x:0:\nstaff:x:50:app\n"


def instruction(line: str):  # type: ignore[no-untyped-def]
    return parse_dockerfile(f"FROM scratch\n{line}\n").stages[0].instructions[0]


def test_healthcheck_forms_and_flags() -> None:
    check = healthcheck(instruction(
        "HEALTHCHECK --interval=1m30s --timeout=5s --retries=3 --start-period=2s "
        "CMD curl -f http://localhost/"))
    assert check.test == ("CMD-SHELL", "curl -f http://localhost/")
    assert (check.interval_ns, check.timeout_ns, check.start_period_ns, check.retries) == (
        90_000_000_000, 5_000_000_000, 2_000_000_000, 3)
    assert healthcheck(instruction('HEALTHCHECK CMD ["true", "x"]')).test == (
        "CMD", "true", "x")
    assert healthcheck(instruction("HEALTHCHECK NONE")).test == ("NONE",)
    with pytest.raises(InvalidParameter, match="Unknown type in HEALTHCHECK"):
        healthcheck(instruction("HEALTHCHECK RUN true"))
    with pytest.raises(InvalidParameter, match='--retries "many": not a number'):
        healthcheck(instruction("HEALTHCHECK --retries=many CMD true"))
    with pytest.raises(InvalidParameter, match='--interval "soon": not a duration'):
        healthcheck(instruction("HEALTHCHECK --interval=soon CMD true"))
    with pytest.raises(InvalidParameter, match="unknown flag: every"):
        healthcheck(instruction("HEALTHCHECK --every=5s CMD true"))


def test_copy_words_json_form_keeps_spaces() -> None:
    assert copy_words('["a file", "/dest dir/"]') == ['"a file"', '"/dest dir/"']
    assert copy_words("a b  /c/") == ["a", "b", "/c/"]
    assert copy_words("[not json") == ["[not", "json"]


def test_owner_names_and_numbers() -> None:
    assert owner_id("app", PASSWD, "user") == 1234
    assert owner_id("77", PASSWD, "user") == 77
    assert owner_id("staff", GROUP, "group") == 50
    with pytest.raises(BuildError, match="no such user: nobody"):
        owner_id("nobody", PASSWD, "user")


def test_step_keys_differ_with_any_part() -> None:
    base = step_key("/bin/sh -c make", {"Env": ["A=1"]})
    assert base == step_key("/bin/sh -c make", {"Env": ["A=1"]})
    assert base != step_key("/bin/sh -c make", {"Env": ["A=2"]})
    assert base != step_key("/bin/sh -c make install", {"Env": ["A=1"]})
