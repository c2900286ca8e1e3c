"""JSON for the CLI's hot path, straight from the C accelerator ``_json``.

Why not ``json``: importing it imports ``re`` (and with it ``enum``, ``functools`` and
``collections``), which on this class of machine costs several milliseconds of every
CLI command: more than the request itself. ``_json`` holds the same C scanner and
encoder that ``json`` uses, so the results are the same. Indented output (``inspect``) is
walked here in Python, as ``json`` itself does it; only errors go to ``json``, imported then.
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing imports re: the cost this module exists to avoid
    from typing import Any

_CONSTANTS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


class _ScannerContext:
    """The attributes ``_json.make_scanner`` reads (as ``json.JSONDecoder`` has them)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_CONSTANTS.__getitem__)


_scan = _json.make_scanner(_ScannerContext())  # type: ignore[arg-type]  # (stub wants the class)


def _unencodable(value: object) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# Arguments: markers, default, encoder, indent, key and item separators, sort_keys,
# skipkeys, allow_nan: json.dumps(value) with its defaults, except that no markers dict
# is shared between calls (threads may encode at once; a cycle ends in RecursionError).
_encode = _json.make_encoder(None, _unencodable, _json.encode_basestring_ascii, None, ": ",
                             ", ", False, False, True)


def loads(text: str | bytes) -> Any:
    if isinstance(text, bytes):
        text = text.decode()
    stripped = text.strip(" \t\n\r")
    try:
        value, end = _scan(stripped, 0)
    except StopIteration:
        end = -1
    if end != len(stripped):
        import json  # the stdlib's decoder, for its exact error

        return json.loads(text)
    return value


def dumps(value: Any) -> str:
    return "".join(_encode(value, 0))


def dumps_indented(value: Any, indent: int = 4) -> str:
    """``json.dumps(value, indent=indent, ensure_ascii=False)``: what ``inspect`` prints.
    The C encoder has no indentation (``json`` falls back to Python for it too), so this
    walks the value itself; the scalars are encoded as ``json`` encodes them."""
    out: list[str] = []
    _indented(value, out, " " * indent, "\n")
    return "".join(out)


def _indented(value: Any, out: list[str], step: str, newline: str) -> None:
    # The order of json's own checks: a bool is an int, and str/int/float subclasses
    # (enums) are written as their base type.
    if isinstance(value, str):
        out.append(_string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = newline + step
        out.append("[")
        for index, item in enumerate(value):
            out.append(inner if index == 0 else "," + inner)
            _indented(item, out, step, inner)
        out.append(newline + "]")
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + step
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            out.append(inner if index == 0 else "," + inner)
            out.append(_string(_key(key)))
            out.append(": ")
            _indented(item, out, step, inner)
        out.append(newline + "}")
    else:
        _unencodable(value)


_string = _json.encode_basestring  # ensure_ascii=False: non-ASCII text stays as it is


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _key(key: object) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, float):
        return _float(key)
    if key is True or key is False or key is None:
        return {True: "true", False: "false", None: "null"}[key]
    if isinstance(key, int):
        return int.__repr__(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
