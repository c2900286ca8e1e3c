"""JSON for the CLI's hot path, straight from the C accelerator ``_json``.

Why not ``json``: importing it imports ``re`` (and with it ``enum``, ``functools`` and
``collections``), which on this class of machine costs several milliseconds of every
CLI command: more than the request itself. ``_json`` holds the same C scanner and
encoder that ``json`` uses, so the results are the same; only compact output is made
here, and anything else (indentation, errors) goes to ``json`` itself, imported then.
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
