from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.hosts import Host, make_host


@pytest.fixture
def host() -> Iterator[Host]:
    with make_host() as h:
        yield h
