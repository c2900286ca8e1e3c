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
