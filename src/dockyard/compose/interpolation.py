"""Variable interpolation in compose values, as the compose specification defines it.

Supported: ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``,
``${VAR:?error}``, ``${VAR?error}``, ``${VAR:+replacement}``, ``${VAR+replacement}`` and
``$$`` for a literal ``$``. Defaults, replacements and error texts are themselves
interpolated, so ``${A:-${B:-x}}`` nests. An unset variable becomes the empty string and
adds the warning compose prints.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from dockyard.compose.errors import InterpolationError, KeyPath

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


def unset_warning(name: str) -> str:
    return f'The "{name}" variable is not set. Defaulting to a blank string.'


class _Failure(Exception):
    """Raised inside the parser; turned into an InterpolationError with file and path."""


class Interpolator:
    """Expands variables from one environment, collecting warnings (deduplicated, in order)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.warnings: list[str] = []

    def _warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def expand(self, text: str, *, file: str | None = None, path: KeyPath = ()) -> str:
        try:
            value, end = self._expand(text, 0, closing=False)
        except _Failure as exc:
            raise InterpolationError(str(exc), file=file, path=path) from None
        assert end == len(text)
        return value

    def _expand(self, text: str, pos: int, *, closing: bool) -> tuple[str, int]:
        """Expand from ``pos``; with ``closing`` stop at the ``}`` ending a ``${...}`` body
        and return the index just after it."""
        out: list[str] = []
        i = pos
        while i < len(text):
            ch = text[i]
            if closing and ch == "}":
                return "".join(out), i + 1
            if ch != "$":
                out.append(ch)
                i += 1
                continue
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if nxt == "$":
                out.append("$")
                i += 2
            elif nxt == "{":
                value, i = self._braced(text, i)
                out.append(value)
            else:
                match = _NAME.match(text, i + 1)
                if match is None:
                    # A lone "$" (e.g. a regex anchor) is kept as it is, as compose does.
                    out.append("$")
                    i += 1
                    continue
                out.append(self._lookup(match.group()))
                i = match.end()
        if closing:
            raise _Failure(f'invalid interpolation format "{text}": missing closing brace')
        return "".join(out), i

    def _braced(self, text: str, start: int) -> tuple[str, int]:
        """Expand the ``${...}`` starting at ``start`` (the ``$``)."""
        match = _NAME.match(text, start + 2)
        if match is None:
            raise _Failure(f'invalid interpolation format "{text}": bad variable name')
        name = match.group()
        i = match.end()
        if i < len(text) and text[i] == "}":
            return self._lookup(name), i + 1
        operator = next((op for op in _OPERATORS if text.startswith(op, i)), None)
        if operator is None:
            raise _Failure(f'invalid interpolation format "{text}": unexpected character')
        # The operand is expanded lazily: ${A:-${B}} must not warn about B when A is set.
        body_start = i + len(operator)
        raw_end = _skip_braced(text, body_start)
        if raw_end is None:
            raise _Failure(f'invalid interpolation format "{text}": missing closing brace')
        value = self.environ.get(name)
        is_set = value is not None
        is_nonempty = bool(value)
        present = is_nonempty if operator.startswith(":") else is_set

        def operand() -> str:
            return self._expand(text, body_start, closing=True)[0]

        bare = operator.lstrip(":")
        if bare == "-":
            return (value if present else operand()) or "", raw_end
        if bare == "+":
            return (operand() if present else ""), raw_end
        # "?": the variable is required.
        if present:
            return value or "", raw_end
        message = operand()
        detail = f'required variable "{name}" is missing a value'
        raise _Failure(f"{detail}: {message}" if message else detail)

    def _lookup(self, name: str) -> str:
        value = self.environ.get(name)
        if value is None:
            self._warn(unset_warning(name))
            return ""
        return value


def _skip_braced(text: str, pos: int) -> int | None:
    """Index just past the ``}`` that closes a body starting at ``pos`` (nesting aware)."""
    depth = 1
    i = pos
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def interpolate_tree(
    node: Any, expand: Callable[[str, KeyPath], str], path: tuple[str | int, ...] = ()
) -> Any:
    """Expand every string value (not keys) of a loaded YAML tree."""
    if isinstance(node, str):
        return expand(node, path)
    if isinstance(node, dict):
        return {key: interpolate_tree(value, expand, (*path, key)) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate_tree(item, expand, (*path, idx)) for idx, item in enumerate(node)]
    return node
