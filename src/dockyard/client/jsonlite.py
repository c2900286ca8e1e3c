"""JSON for the CLI's hot path: the stdlib ``json``'s results, at a fraction of its cost.

Why not ``json``: importing it imports ``re`` (and with it ``enum``, ``functools`` and
``collections``), which on this class of machine costs several milliseconds of every
CLI command: more than the request itself.

Why not always ``_json``, the C accelerator ``json`` uses: it is a shared library, and
loading one costs ~0.7 ms of a command's start here. Most commands send a small body and
read a small one back (a create's config, ``{"Id": …}``), so documents are written here in
Python, and read here in Python up to ``SMALL`` characters; longer ones (``ps``, ``inspect``,
``images``) go to ``_json``'s scanner, loaded then. Either way the result is what ``json``
gives, and text ``json`` would refuse goes to ``json`` itself, for its exact error.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing imports re: the cost this module exists to avoid
    from collections.abc import Callable
    from typing import Any

# Longer documents are read by _json's scanner: parsing them in Python would cost more
# than loading it (~90 µs a KiB here, against ~400-700 µs).
SMALL = 4096

_CONSTANTS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


class _Invalid(Exception):
    """Not JSON that this reader takes: ``json`` reads it again, for its error."""


# ---------------------------------------------------------------------------- writing


def dumps(value: "Any") -> str:
    """``json.dumps(value)``: its separators, ASCII only, NaN and Infinity allowed. (No
    cycle check: a cycle ends in RecursionError rather than ValueError.)"""
    out: list[str] = []
    _write(value, out)
    return "".join(out)


def _scalar(value: "Any", quote: "Callable[[str], str]") -> "str | None":
    """A string, number, bool or None as json writes it (strings by ``quote``); None for
    anything else. json's own order of checks: a bool is an int, and str/int/float
    subclasses (enums) are written as their base type."""
    if isinstance(value, str):
        return quote(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    return None


def _write(value: "Any", out: list[str]) -> None:
    scalar = _scalar(value, _ascii_string)
    if scalar is not None:
        out.append(scalar)
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(", ")
            _write(item, out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(", ")
            out.append(_ascii_string(_key(key)))
            out.append(": ")
            _write(item, out)
        out.append("}")
    else:
        _unencodable(value)


# What json writes for the characters it escapes by name; any other outside ' '..'~' is
# written as \uXXXX (a surrogate pair beyond the BMP).
_NAMED_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n",
                  "\r": "\\r", "\t": "\\t"}


def _ascii_string(text: str) -> str:
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return '"' + text + '"'  # most strings: nothing to escape
    return '"' + "".join(_escape(c) for c in text) + '"'


def _escape(char: str) -> str:
    named = _NAMED_ESCAPES.get(char)
    if named is not None:
        return named
    if " " <= char <= "~":
        return char
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xd800 | (code >> 10):04x}\\u{0xdc00 | (code & 0x3ff):04x}"


def _unencodable(value: object) -> "Any":
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps_indented(value: "Any", indent: int = 4) -> str:
    """``json.dumps(value, indent=indent, ensure_ascii=False)``: what ``inspect`` prints."""
    out: list[str] = []
    _indented(value, out, " " * indent, "\n")
    return "".join(out)


def dumps_compact(value: "Any") -> str:
    """``json.dumps(value, separators=(",", ":"), ensure_ascii=False)``: a template's
    ``{{json .X}}``."""
    out: list[str] = []
    _indented(value, out, "", "", colon=":")
    return "".join(out)


def _indented(value: "Any", out: list[str], step: str, newline: str,
              colon: str = ": ") -> None:
    scalar = _scalar(value, _unicode_string)
    if scalar is not None:
        out.append(scalar)
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = newline + step
        out.append("[")
        for index, item in enumerate(value):
            out.append(inner if index == 0 else "," + inner)
            _indented(item, out, step, inner, colon)
        out.append(newline + "]")
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + step
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            out.append(inner if index == 0 else "," + inner)
            out.append(_unicode_string(_key(key)))
            out.append(colon)
            _indented(item, out, step, inner, colon)
        out.append(newline + "}")
    else:
        _unencodable(value)


def _unicode_string(text: str) -> str:
    """json's ensure_ascii=False form: only '"', '\\' and control characters escaped."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return '"' + text + '"'
    return '"' + "".join(
        _NAMED_ESCAPES.get(c) or (f"\\u{ord(c):04x}" if c < " " else c) for c in text) + '"'


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


# ---------------------------------------------------------------------------- reading


def loads(text: "str | bytes") -> "Any":
    """``json.loads(text)``."""
    if isinstance(text, bytes):
        text = text.decode()
    if len(text) <= SMALL:
        try:
            value, end = _value(text, _skip(text, 0))
            if _skip(text, end) == len(text):
                return value
        except (_Invalid, IndexError, ValueError):
            pass
    else:
        stripped = text.strip(" \t\n\r")
        try:
            value, end = _scanner()(stripped, 0)
        except StopIteration:
            end = -1
        if end == len(stripped):
            return value
    import json  # the stdlib's decoder, for its exact error

    return json.loads(text)


def _scanner() -> "Any":
    global _scan
    if _scan is None:
        import _json

        class Context:
            """The attributes ``_json.make_scanner`` reads (as ``json.JSONDecoder`` has)."""

            strict = True
            object_hook = None
            object_pairs_hook = None
            parse_float = float
            parse_int = int
            parse_constant = staticmethod(_CONSTANTS.__getitem__)

        _scan = _json.make_scanner(Context())  # type: ignore[arg-type]  # (stub: the class)
    return _scan


_scan: "Any" = None

_WHITESPACE = " \t\n\r"
_HEX = frozenset("0123456789abcdefABCDEF")
_UNESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r",
              "t": "\t"}
_WORDS = (("null", None), ("true", True), ("false", False), ("NaN", _CONSTANTS["NaN"]),
          ("Infinity", _CONSTANTS["Infinity"]), ("-Infinity", _CONSTANTS["-Infinity"]))


def _skip(s: str, i: int) -> int:
    while i < len(s) and s[i] in _WHITESPACE:
        i += 1
    return i


def _value(s: str, i: int) -> "tuple[Any, int]":
    """The value starting at ``s[i]`` and the index after it. Raises _Invalid (or
    IndexError at the end of the text) where json would raise."""
    c = s[i]
    if c == '"':
        return _string(s, i + 1)
    if c == "{":
        return _object(s, _skip(s, i + 1))
    if c == "[":
        return _array(s, _skip(s, i + 1))
    for word, value in _WORDS:
        if s.startswith(word, i):
            return value, i + len(word)
    return _number(s, i)


def _object(s: str, i: int) -> "tuple[dict[str, Any], int]":
    doc: dict[str, Any] = {}
    if s[i] == "}":
        return doc, i + 1
    while True:
        if s[i] != '"':
            raise _Invalid
        key, i = _string(s, i + 1)
        i = _skip(s, i)
        if s[i] != ":":
            raise _Invalid
        doc[key], i = _value(s, _skip(s, i + 1))
        done, i = _after_item(s, i, "}")
        if done:
            return doc, i


def _array(s: str, i: int) -> "tuple[list[Any], int]":
    items: list[Any] = []
    if s[i] == "]":
        return items, i + 1
    while True:
        item, i = _value(s, i)
        items.append(item)
        done, i = _after_item(s, i, "]")
        if done:
            return items, i


def _after_item(s: str, i: int, close: str) -> "tuple[bool, int]":
    """After an object's or array's item: (True, the index after ``close``) at its end,
    (False, the next item's index) after a comma."""
    i = _skip(s, i)
    if s[i] == close:
        return True, i + 1
    if s[i] != ",":
        raise _Invalid
    return False, _skip(s, i + 1)


def _string(s: str, i: int) -> "tuple[str, int]":
    """The string whose text starts at ``s[i]`` (after its opening quote)."""
    chunks = []
    while True:
        quote = s.find('"', i)
        if quote < 0:
            raise _Invalid
        backslash = s.find("\\", i, quote)
        end = quote if backslash < 0 else backslash
        chunk = s[i:end]
        if chunk and min(chunk) < " ":
            raise _Invalid  # a control character must be escaped (json's strict mode)
        chunks.append(chunk)
        if backslash < 0:
            return "".join(chunks), quote + 1
        escape = s[backslash + 1]
        if escape != "u":
            if escape not in _UNESCAPES:
                raise _Invalid
            chunks.append(_UNESCAPES[escape])
            i = backslash + 2
            continue
        code, i = _hex4(s, backslash + 2), backslash + 6
        if 0xD800 <= code <= 0xDBFF and s.startswith("\\u", i):
            low = _hex4(s, i + 2)
            if 0xDC00 <= low <= 0xDFFF:  # a surrogate pair: one character, as json reads it
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                i += 6
        chunks.append(chr(code))


def _hex4(s: str, i: int) -> int:
    digits = s[i:i + 4]
    if len(digits) != 4 or not _HEX.issuperset(digits):
        raise _Invalid
    return int(digits, 16)


def _number(s: str, i: int) -> "tuple[int | float, int]":
    """-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][-+]?[0-9]+)?, as json's number pattern."""
    start, n = i, len(s)
    if i < n and s[i] == "-":
        i += 1
    if i < n and s[i] == "0":
        i += 1
    elif i < n and "1" <= s[i] <= "9":
        i = _digits(s, i)
    else:
        raise _Invalid
    is_float = False
    if i < n and s[i] == ".":
        i, is_float = _digits(s, i + 1, required=True), True
    if i < n and s[i] in "eE":
        i += 1
        if i < n and s[i] in "+-":
            i += 1
        i, is_float = _digits(s, i, required=True), True
    token = s[start:i]
    return (float(token) if is_float else int(token)), i


def _digits(s: str, i: int, required: bool = False) -> int:
    start = i
    while i < len(s) and "0" <= s[i] <= "9":
        i += 1
    if required and i == start:
        raise _Invalid
    return i
