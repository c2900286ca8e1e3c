"""``docker update``'s rules (pure): memory limits over the ones set before, and the
update body our CLI sends."""

from __future__ import annotations

import pytest

from dockyard.cli.flags import UsageError, parse
from dockyard.cli.update import FLAGS, update_body
from dockyard.errors import InvalidParameter
from dockyard.runtime.options import updated_memory

MIB = 1 << 20


def test_memory_update_keeps_or_derives_the_swap_limit() -> None:
    assert updated_memory(0, 0, 64 * MIB, 0) == (64 * MIB, 128 * MIB)  # Docker's 2x
    assert updated_memory(64 * MIB, 128 * MIB, 100 * MIB, 0) == (100 * MIB, 128 * MIB)
    assert updated_memory(64 * MIB, -1, 500 * MIB, 0) == (500 * MIB, -1)
    assert updated_memory(64 * MIB, 128 * MIB, 0, 256 * MIB) == (64 * MIB, 256 * MIB)
    with pytest.raises(InvalidParameter, match="update the memoryswap at the same time"):
        updated_memory(64 * MIB, 128 * MIB, 200 * MIB, 0)
    with pytest.raises(InvalidParameter, match="Minimum memory limit"):
        updated_memory(0, 0, MIB, 0)


def test_update_body_has_only_the_flags_given() -> None:
    opts, refs = parse(FLAGS, ["--restart", "on-failure:3", "-m", "1g", "web"])
    assert refs == ["web"]
    assert update_body(opts) == {
        "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}, "Memory": 1 << 30}
    opts, _ = parse(FLAGS, ["--cpus", "1.5", "web"])
    assert update_body(opts) == {"NanoCpus": 1_500_000_000}
    opts, _ = parse(FLAGS, ["--cpus", "lots", "web"])
    with pytest.raises(UsageError, match='"lots" for "--cpus"'):
        update_body(opts)
