"""The CLI's lean JSON codec gives what the stdlib's json gives."""

from __future__ import annotations

import json
import math

import pytest

from dockyard.client import jsonlite

DOCS = [
    {"Name": "net", "IPAM": {"Config": [{"Subnet": "10.0.0.0/24"}]}, "Labels": {}},
    [1, 2.5, -3e-7, True, False, None, "é ☃ \u0000 \"q\" \\ \n"],
    "just a string",
    12345678901234567890,
    {},
    [],
]


@pytest.mark.parametrize("doc", DOCS)
def test_round_trips_like_json(doc: object) -> None:
    assert jsonlite.dumps(doc) == json.dumps(doc)
    text = json.dumps(doc)
    assert jsonlite.loads(text) == json.loads(text)
    assert jsonlite.loads(f"  {text}\n".encode()) == doc


def test_constants_and_errors_match_json() -> None:
    assert math.isinf(jsonlite.loads("[Infinity]")[0])
    for bad in ("", "{", '{"a": 1} x', "[1,]", "nope"):
        with pytest.raises(json.JSONDecodeError):
            jsonlite.loads(bad)
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        jsonlite.dumps({"a": {1}})


INDENTED = [
    *DOCS,
    {"Containers": {}, "Options": {"a": [], "b": [{}], "c": [[1, [2, {"d": None}]]]}},
    {7: "int key", 2.5: "float key", True: "bool key", None: "none key", "s": (1, 2)},
    [math.nan, math.inf, -math.inf, 0.1, 1e300, -0.0],
    [{"Name": "Δ \t\x1f", "Labels": {"com.example": "\u2028"}}],
]


@pytest.mark.parametrize("doc", INDENTED)
def test_indented_output_is_what_inspect_prints_with_json(doc: object) -> None:
    assert jsonlite.dumps_indented(doc) == json.dumps(doc, indent=4, ensure_ascii=False)


def test_indented_output_on_random_documents() -> None:
    import random

    rng = random.Random(7)

    def value(depth: int) -> object:
        kind = rng.randrange(8 if depth < 4 else 5)
        if kind == 0:
            return "".join(rng.choice("ab\"\\\n\té☃\x00") for _ in range(rng.randrange(6)))
        if kind == 1:
            return rng.randrange(-10**20, 10**20)
        if kind == 2:
            return rng.choice([True, False, None])
        if kind in (3, 4):
            return rng.uniform(-1e6, 1e6)
        if kind == 5:
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        return {str(rng.randrange(100)): value(depth + 1) for _ in range(rng.randrange(4))}

    for _ in range(300):
        doc = value(0)
        assert jsonlite.dumps_indented(doc) == json.dumps(doc, indent=4, ensure_ascii=False)


def test_indented_refuses_what_json_refuses() -> None:
    with pytest.raises(TypeError):
        jsonlite.dumps_indented({"x": object()})
    with pytest.raises(TypeError):
        jsonlite.dumps_indented({(1, 2): "tuple key"})
