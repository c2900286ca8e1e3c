"""Parse ``.env`` / ``env_file`` files as compose does.

``KEY=VALUE`` per line, optional ``export``, ``#`` comments (inline only after blank space in
unquoted values). Single quotes are literal; double quotes understand ``\\n``, ``\\t``,
``\\\\``, ``\\"`` and may span lines. Unquoted and double-quoted values are interpolated
against the variables defined above them and the lookup environment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from dockyard.compose.errors import ComposeFileError
from dockyard.compose.interpolation import Interpolator

_KEY = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.\-]*)\s*(=)?")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "$": "$"}


class _Chain(dict[str, str]):
    """Variables defined so far in the file, falling back to the lookup environment."""

    def __init__(self, own: dict[str, str], fallback: Mapping[str, str]) -> None:
        super().__init__()
        self.own = own
        self.fallback = fallback

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        if key in self.own:
            return self.own[key]
        return self.fallback.get(key, default)


def parse_dotenv(
    text: str, *, file: str, lookup: Mapping[str, str] | None = None
) -> tuple[dict[str, str | None], list[str]]:
    """Return (variables, warnings). A bare ``KEY`` line takes its value from ``lookup``
    (None when absent there)."""
    result: dict[str, str | None] = {}
    defined: dict[str, str] = {}
    interp = Interpolator(_Chain(defined, lookup or {}))
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        lineno = i + 1
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _KEY.match(line)
        if match is None:
            raise ComposeFileError(f"line {lineno}: unexpected character in {line.strip()!r}",
                                   file=file)
        key = match.group(1)
        if match.group(2) is None:
            if line[match.end():].strip():
                raise ComposeFileError(f"line {lineno}: unexpected character in {line.strip()!r}",
                                       file=file)
            value_or_none = (lookup or {}).get(key)
            result[key] = value_or_none
            if value_or_none is not None:
                defined[key] = value_or_none
            continue
        rest = line[match.end():].lstrip()
        if rest.startswith("'") or rest.startswith('"'):
            quote = rest[0]
            body = rest[1:]
            while _closing_quote(body, quote) is None:
                if i >= len(lines):
                    raise ComposeFileError(f"line {lineno}: unterminated quoted value for {key}",
                                           file=file)
                body += "\n" + lines[i]
                i += 1
            end = _closing_quote(body, quote)
            assert end is not None
            raw = body[:end]
            literal = quote == "'"
            value = raw if literal else interp.expand(_unescape(raw), file=file, path=(key,))
        else:
            raw = re.split(r"\s+#", rest, maxsplit=1)[0].strip()
            value = interp.expand(raw, file=file, path=(key,))
        result[key] = value
        defined[key] = value
    return result, interp.warnings


def _closing_quote(body: str, quote: str) -> int | None:
    i = 0
    while i < len(body):
        if quote == '"' and body[i] == "\\":
            i += 2
            continue
        if body[i] == quote:
            return i
        i += 1
    return None


def _unescape(raw: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw) and raw[i + 1] in _ESCAPES:
            nxt = raw[i + 1]
            # Keep "\$" as "$$" so the interpolation pass turns it into a literal "$".
            out.append("$$" if nxt == "$" else _ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)
