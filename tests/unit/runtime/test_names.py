"""Generated container names: Docker's shape, and a space wide enough that a create stays
a lookup or two however many containers exist."""

from __future__ import annotations

import re

from dockyard.runtime.names import random_name


def test_generated_names_have_dockers_shape() -> None:
    names = {random_name(lambda _: False) for _ in range(200)}
    assert all(re.fullmatch(r"[a-z]+_[a-z]+", n) for n in names), names
    assert len(names) > 190  # drawn from thousands, not a few hundred


def test_a_thousand_containers_cost_a_create_few_lookups() -> None:
    taken: set[str] = set()
    lookups = 0

    def is_taken(name: str) -> bool:
        nonlocal lookups
        lookups += 1
        return name in taken

    for _ in range(1000):
        taken.add(random_name(is_taken))
    assert len(taken) == 1000
    # With 256 names every create past 256 containers walked its retries; now the
    # thousandth create still finds a free name at about the first try.
    assert lookups < 1100, lookups
    assert all(re.fullmatch(r"[a-z]+_[a-z]+", n) for n in taken)


def test_when_plain_names_keep_colliding_a_digit_is_added() -> None:
    name = random_name(lambda n: not n[-1].isdigit())
    assert re.fullmatch(r"[a-z]+_[a-z]+[0-9]", name), name
