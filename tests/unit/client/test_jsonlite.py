"""The CLI's lean JSON codec gives what the stdlib's json gives."""

from __future__ import annotations

import json
import math
import random

import pytest

from dockyard.client import jsonlite
from tests.unit.client import run_bare

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
    assert jsonlite.dumps_compact(doc) == json.dumps(doc, separators=(",", ":"),
                                                     ensure_ascii=False)


def test_indented_and_compact_output_on_random_documents() -> None:
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
        assert jsonlite.dumps_compact(doc) == json.dumps(doc, separators=(",", ":"),
                                                         ensure_ascii=False)


def test_indented_refuses_what_json_refuses() -> None:
    with pytest.raises(TypeError):
        jsonlite.dumps_indented({"x": object()})
    with pytest.raises(TypeError):
        jsonlite.dumps_indented({(1, 2): "tuple key"})


def _random_value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        alphabet = "ab\"\\/\n\t\b\f\r\x00\x1f\x7fé☃\u2028\U0001f600 "
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(8)))
    if kind == 1:
        return rng.randrange(-10**20, 10**20)
    if kind == 2:
        return rng.choice([True, False, None, 0, -0.0, 1e300, 5e-324])
    if kind in (3, 4):
        return rng.uniform(-1e6, 1e6)
    if kind == 5:
        return rng.choice(["", "plain", "Id", "a" * 100])
    if kind in (6, 7):
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    return {_random_value(rng, 5) if rng.random() < .5 else str(rng.randrange(100)):
            _random_value(rng, depth + 1) for _ in range(rng.randrange(5))}


def test_random_documents_write_and_read_as_json_does() -> None:
    rng = random.Random(11)
    for _ in range(2000):
        doc = _random_value(rng)
        try:
            expected = json.dumps(doc)
        except TypeError:
            continue  # (a non-str key drawn as a dict key: json refuses it too)
        assert jsonlite.dumps(doc) == expected
        for text in (expected, json.dumps(doc, ensure_ascii=False),
                     json.dumps(doc, indent=2), json.dumps(doc, separators=(",", ":"))):
            # Compared as json writes them: NaN is not equal to itself.
            assert json.dumps(jsonlite.loads(text)) == json.dumps(json.loads(text))


def test_long_documents_are_read_by_the_accelerator_with_the_same_result() -> None:
    doc = [{"Id": f"{i:064x}", "Names": [f"/c{i}"], "Labels": {"é": "☃\n"}} for i in range(200)]
    text = json.dumps(doc)
    assert len(text) > jsonlite.SMALL
    assert jsonlite.loads(text) == doc
    with pytest.raises(json.JSONDecodeError):
        jsonlite.loads(text[:-1])


@pytest.mark.parametrize("bad", [
    "", " ", "{", "}", "[", "[1,]", "[,1]", "[1 2]", '{"a" 1}', '{"a":}', '{"a":1,}', "{,}",
    '{1: 2}', "01", "-01", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "tru", "nul", "nan",
    '"abc', '"\\x"', '"\\u12G4"', '"\\u12"', '"tab\there"', '"\x01"', "1 2", '"a" "b"',
    "[1] x", "-Inf", "Infinityx",
])
def test_what_json_refuses_is_refused_with_its_error(bad: str) -> None:
    with pytest.raises(json.JSONDecodeError) as ours:
        jsonlite.loads(bad)
    with pytest.raises(json.JSONDecodeError) as theirs:
        json.loads(bad)
    assert str(ours.value) == str(theirs.value)


def test_surrogates_read_as_json_reads_them() -> None:
    for text in ('"\\ud83d\\ude00"', '"\\ud83d"', '"\\ude00\\ud83d"', '"\\ud83d\\u0041"',
                 '"\\uD83D\\uDE00x"'):
        assert jsonlite.loads(text) == json.loads(text)


def test_small_bodies_need_no_shared_library() -> None:
    # Loading _json (a shared library) costs ~0.7 ms of a command's start: a command
    # that sends a create's config and reads {"Id": ...} back does without it.
    probe = ("import sys\n"
             "from dockyard.client import jsonlite\n"
             "body = jsonlite.dumps({'Image': 'busybox', 'Cmd': ['sleep', '1'], 'Env': []})\n"
             "doc = jsonlite.loads('{\"Id\": \"' + 'a' * 64 + '\", \"Warnings\": []}')\n"
             "print(doc['Warnings'], '_json' in sys.modules, 'json' in sys.modules)\n")
    out = run_bare(probe)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[]", "False", "False"]
