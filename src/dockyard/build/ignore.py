""".dockerignore: which files of the build context are left out of it.

Patterns use Go's ``filepath.Match`` syntax (``*`` and ``?`` stay inside one path
component, ``[...]`` classes, ``\\`` escapes) plus ``**``, which matches any number of
directories, none included. The last pattern that matches a path decides, a ``!`` pattern
re-including; a pattern that matches a directory covers everything under it. Each pattern
is compiled to a regular expression once, since a context walk asks about every file.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

from dockyard.errors import InvalidParameter


class _BadPattern(Exception):
    """Internal: the pattern is malformed (turned into InvalidParameter with its text)."""


def read_dockerignore(text: str) -> list[str]:
    """The patterns of a .dockerignore file, cleaned; ``!`` exceptions keep their ``!``.

    As in Docker, only a ``#`` in the first column starts a comment.
    """
    patterns: list[str] = []
    for raw in text.removeprefix("\ufeff").splitlines():
        if raw.startswith("#"):
            continue
        pattern = raw.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = _clean(pattern)
        patterns.append("!" + pattern if invert else pattern)
    return patterns


def _clean(path: str) -> str:
    """Like Go's ``filepath.Clean``, then made relative to the context root."""
    cleaned = posixpath.normpath(re.sub("/+", "/", path))
    return cleaned[1:] if len(cleaned) > 1 and cleaned.startswith("/") else cleaned


class _Pattern:
    """One compiled pattern. A plain class: ``dataclasses`` costs the client's ``build``
    ~10 ms to import."""

    __slots__ = ("exclusion", "regex", "segments")

    def __init__(self, exclusion: bool, regex: re.Pattern[str],
                 segments: tuple[re.Pattern[str] | None, ...]) -> None:
        self.exclusion = exclusion
        self.regex = regex
        # One regex per path component, None where a component may match across "/"
        # (``**``): enough to tell whether the pattern could match anything below a
        # directory.
        self.segments = segments

    def matches(self, parts: list[str]) -> bool:
        """Whether the path, or one of its parent directories, matches."""
        return any(
            self.regex.fullmatch("/".join(parts[:depth])) for depth in range(1, len(parts) + 1)
        )

    def could_match_below(self, parts: list[str]) -> bool:
        """Whether some path strictly below the directory ``parts`` could match (erring on yes)."""
        for index, part in enumerate(parts):
            if index >= len(self.segments):
                return False
            segment = self.segments[index]
            if segment is None:
                return True
            if not segment.fullmatch(part):
                return False
        return len(self.segments) > len(parts)


class IgnoreMatcher:
    """Decides, for paths relative to the context root, whether .dockerignore excludes them."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self._patterns: list[_Pattern] = []
        for raw in patterns:
            text = raw.strip()
            if not text:
                continue
            exclusion = text.startswith("!")
            if exclusion:
                text = text[1:].strip()
                if not text:
                    raise InvalidParameter('illegal exclusion pattern: "!"')
            text = _clean(text)
            try:
                regex = re.compile(_translate(text))
            except (_BadPattern, re.error) as err:
                raise InvalidParameter(
                    f"invalid .dockerignore pattern {raw.strip()!r}: syntax error in pattern"
                ) from err
            self._patterns.append(_Pattern(exclusion, regex, _segments(text)))

    def excluded(self, path: str) -> bool:
        """Whether ``path`` ("/"-separated, relative to the context root) is left out."""
        parts = _parts(path)
        if not parts:
            return False
        matched = False
        for pattern in self._patterns:
            # Only a pattern that would flip the answer so far needs looking at.
            if pattern.exclusion == matched and pattern.matches(parts):
                matched = not pattern.exclusion
        return matched

    def may_include_below(self, directory: str) -> bool:
        """False only when ``directory`` is excluded and no ``!`` pattern could re-include
        anything under it, so a context walker can skip the whole subtree."""
        parts = _parts(directory)
        if not parts or not self.excluded(directory):
            return True
        return any(p.exclusion and p.could_match_below(parts) for p in self._patterns)


def _parts(path: str) -> list[str]:
    cleaned = _clean(path.strip()).lstrip("/")
    return [] if cleaned in ("", ".") else cleaned.split("/")


def _segments(pattern: str) -> tuple[re.Pattern[str] | None, ...]:
    segments: list[re.Pattern[str] | None] = []
    for segment in pattern.split("/"):
        try:
            segments.append(None if "**" in segment else re.compile(_translate(segment)))
        except (_BadPattern, re.error):
            segments.append(None)  # e.g. a "/" inside [...]: assume it could match
    return tuple(segments)


def _translate(pattern: str) -> str:
    """A Go filepath.Match pattern (plus ``**``) as an equivalent regular expression."""
    out: list[str] = []
    pos = 0
    while pos < len(pattern):
        char = pattern[pos]
        pos += 1
        if char == "*" and pattern.startswith("*", pos):
            pos += 1
            if pattern.startswith("/", pos):  # "**/": any directories, or none
                pos += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
        elif char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            klass, pos = _translate_class(pattern, pos)
            out.append(klass)
        elif char == "\\":
            if pos >= len(pattern):
                raise _BadPattern(pattern)
            out.append(re.escape(pattern[pos]))
            pos += 1
        else:
            out.append(re.escape(char))
    return "".join(out)


def _translate_class(pattern: str, pos: int) -> tuple[str, int]:
    """The ``[...]`` class whose body starts at ``pos``; a negated class never matches "/"."""
    negated = pos < len(pattern) and pattern[pos] in "^!"
    if negated:
        pos += 1
    items: list[str] = []
    while not (items and pos < len(pattern) and pattern[pos] == "]"):
        low, pos = _class_char(pattern, pos)
        high = low
        if pos < len(pattern) and pattern[pos] == "-":
            high, pos = _class_char(pattern, pos + 1)
        if low > high:
            raise _BadPattern(pattern)
        items.append(re.escape(low) if low == high else f"{re.escape(low)}-{re.escape(high)}")
    return ("[^/" if negated else "[") + "".join(items) + "]", pos + 1


def _class_char(pattern: str, pos: int) -> tuple[str, int]:
    if pos >= len(pattern) or pattern[pos] in "-]":
        raise _BadPattern(pattern)
    if pattern[pos] == "\\":
        pos += 1
        if pos >= len(pattern):
            raise _BadPattern(pattern)
    return pattern[pos], pos + 1
