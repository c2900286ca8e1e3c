"""Dockerfile text → instructions and build stages, by Docker's parsing rules.

Pure text processing: nothing here is expanded or executed. The builder needs the
instructions exactly as written (``Step 2/5 : <original>``, build-arg expansion happens
per stage), so values keep their quotes and ``$VARS``; only the parser's own syntax is
resolved here: parser directives, comments, line continuations, keywords, leading
``--flags``, the exec (JSON) form and the ``FROM`` line of each stage.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from dockyard.errors import InvalidParameter
from dockyard.images.changes import json_string_list

KEYWORDS = frozenset({
    "from", "run", "cmd", "label", "maintainer", "expose", "env", "add", "copy", "entrypoint",
    "volume", "user", "workdir", "arg", "onbuild", "stopsignal", "healthcheck", "shell",
})
# Only these take leading --flags; for the others a "--x" is part of the arguments.
_FLAG_KEYWORDS = frozenset({"from", "copy", "add", "run", "healthcheck"})
_EXEC_KEYWORDS = frozenset({"run", "cmd", "entrypoint", "shell"})
_HEREDOC_KEYWORDS = frozenset({"run", "copy", "add"})
_KNOWN_DIRECTIVES = frozenset({"escape", "syntax", "check"})

_DIRECTIVE = re.compile(r"#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*")
_COMMENT_OR_BLANK = re.compile(r"\s*(#.*)?")
_HEREDOC_WORD = re.compile(r"\d*<<-?[\"']?[A-Za-z_]")
_STAGE_NAME = re.compile(r"[a-z][a-z0-9_.-]*")


@dataclass(frozen=True)
class Instruction:
    """One instruction, continuation lines joined, not variable-expanded."""

    keyword: str
    args: str
    flags: tuple[tuple[str, str], ...]
    line: int
    original: str
    exec_form: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Stage:
    """A ``FROM`` and the instructions up to the next one."""

    base: str
    name: str | None
    platform: str | None
    instructions: tuple[Instruction, ...]
    from_instruction: Instruction


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile; ``instructions`` is the flat list the builder numbers steps over."""

    escape: str
    meta_args: tuple[Instruction, ...]
    stages: tuple[Stage, ...]
    instructions: tuple[Instruction, ...]


def _error(line: int, message: str) -> InvalidParameter:
    return InvalidParameter(f"dockerfile parse error on line {line}: {message}")


def parse_dockerfile(text: str) -> Dockerfile:
    """Parse a whole Dockerfile; the first syntax error raises :class:`InvalidParameter`."""
    lines = [line.removesuffix("\r") for line in text.removeprefix("\ufeff").split("\n")]
    escape, start = _read_directives(lines)
    instructions: list[Instruction] = []
    for line_no, joined in _logical_lines(lines, start, escape):
        instructions.append(_parse_instruction(line_no, joined, escape))
    meta_args, stages = _split_stages(instructions)
    return Dockerfile(escape, meta_args, stages, tuple(instructions))


def _read_directives(lines: list[str]) -> tuple[str, int]:
    """The escape character and the index of the first line after the parser directives.

    Directives only count in an unbroken run at the very top: the first line that is not
    a known directive (an unknown one is a plain comment) ends the run.
    """
    escape = "\\"
    seen: set[str] = set()
    for index, line in enumerate(lines):
        match = _DIRECTIVE.fullmatch(line.strip())
        if match is None or match[1].lower() not in _KNOWN_DIRECTIVES:
            return escape, index
        key, value = match[1].lower(), match[2]
        if key in seen:
            raise _error(index + 1, f"only one {key} parser directive can be used")
        seen.add(key)
        if key == "escape":
            if value not in ("\\", "`"):
                raise _error(index + 1, f"invalid escape token '{value}' does not match ` or \\")
            escape = value
    return escape, len(lines)


def _logical_lines(lines: list[str], start: int, escape: str) -> Iterator[tuple[int, str]]:
    """(1-based first line, joined text) per instruction; comments and blank lines dropped.

    A line whose last non-blank character is the escape character continues on the next
    line; the escape character is removed and the pieces are glued as they are, so the
    indentation of a continuation line stays in the text (as it does in Docker's output).
    """
    index = start
    while index < len(lines):
        first = index + 1
        raw = lines[index]
        index += 1
        if _COMMENT_OR_BLANK.fullmatch(raw):
            continue
        joined, more = _trim_continuation(raw.lstrip(), escape)
        while more and index < len(lines):
            raw = lines[index]
            index += 1
            if _COMMENT_OR_BLANK.fullmatch(raw):
                continue
            piece, more = _trim_continuation(raw, escape)
            joined += piece
        if joined.strip():
            yield first, joined.strip()


def _trim_continuation(line: str, escape: str) -> tuple[str, bool]:
    trimmed = line.rstrip()
    if trimmed.endswith(escape):
        return trimmed[:-1], True
    return line, False


def _parse_instruction(line_no: int, text: str, escape: str) -> Instruction:
    parts = text.split(None, 1)
    word, rest = parts[0], parts[1] if len(parts) > 1 else ""
    keyword = word.lower()
    if keyword not in KEYWORDS:
        raise _error(line_no, f"unknown instruction: {word.upper()}")
    flags: tuple[tuple[str, str], ...] = ()
    if keyword in _FLAG_KEYWORDS:
        flags, rest = _split_flags(rest, escape)
    args = rest.strip()
    if keyword in _HEREDOC_KEYWORDS and any(_HEREDOC_WORD.match(w) for w in args.split()):
        raise _error(line_no, "heredocs are not supported")
    exec_form = _exec_form(args) if keyword in _EXEC_KEYWORDS else None
    return Instruction(keyword, args, flags, line_no, text, exec_form)


def _split_flags(rest: str, escape: str) -> tuple[tuple[tuple[str, str], ...], str]:
    """Leading ``--name=value`` words (quotes removed) and the text after them.

    A bare ``--`` ends the flags, as in Docker.
    """
    flags: list[tuple[str, str]] = []
    pos = 0
    while True:
        while pos < len(rest) and rest[pos].isspace():
            pos += 1
        if not rest.startswith("--", pos):
            break
        word, pos = _read_word(rest, pos, escape)
        if word == "--":
            break
        name, _, value = word[2:].partition("=")
        flags.append((name.lower(), value))
    return tuple(flags), rest[pos:]


def _read_word(text: str, pos: int, escape: str) -> tuple[str, int]:
    """One word starting at ``pos``, ending at the first unquoted whitespace; quotes and
    escape characters are removed."""
    word: list[str] = []
    quote = ""
    while pos < len(text):
        char = text[pos]
        pos += 1
        if char == escape and pos < len(text):
            word.append(text[pos])
            pos += 1
        elif quote:
            if char == quote:
                quote = ""
            else:
                word.append(char)
        elif char in "'\"":
            quote = char
        elif char.isspace():
            break
        else:
            word.append(char)
    return "".join(word), pos


def _exec_form(args: str) -> tuple[str, ...] | None:
    """The JSON array of strings, or None: anything else (even bad JSON) is shell form."""
    value = json_string_list(args)
    return tuple(value) if value is not None else None


def _split_stages(
    instructions: list[Instruction],
) -> tuple[tuple[Instruction, ...], tuple[Stage, ...]]:
    """Meta ARGs (before the first FROM) and the stages, with their FROM lines checked."""
    if not instructions:
        raise InvalidParameter("dockerfile parse error: file with no instructions")
    meta_args: list[Instruction] = []
    groups: list[list[Instruction]] = []
    for instruction in instructions:
        if instruction.keyword == "from":
            groups.append([instruction])
        elif groups:
            groups[-1].append(instruction)
        elif instruction.keyword == "arg":
            meta_args.append(instruction)
        else:
            raise _error(instruction.line, "no build stage in current context")
    if not groups:
        raise InvalidParameter("dockerfile parse error: dockerfile contains no stages to build")
    stages: list[Stage] = []
    names: set[str] = set()
    for from_instruction, *body in groups:
        stage = _stage(from_instruction, tuple(body))
        if stage.name is not None:
            if stage.name in names:
                raise _error(from_instruction.line, f"duplicate stage name {stage.name!r}")
            names.add(stage.name)
        stages.append(stage)
    return tuple(meta_args), tuple(stages)


def _stage(from_instruction: Instruction, body: tuple[Instruction, ...]) -> Stage:
    line = from_instruction.line
    for flag, _ in from_instruction.flags:
        if flag != "platform":
            raise _error(line, f"FROM: unknown flag: {flag}")
    platform = dict(from_instruction.flags).get("platform")
    words = from_instruction.args.split()
    if len(words) not in (1, 3):
        raise _error(line, "FROM requires either one or three arguments")
    name = None
    if len(words) == 3:
        if words[1].lower() != "as":
            raise _error(line, "FROM: second argument should be AS")
        name = words[2].lower()
        if not _STAGE_NAME.fullmatch(name):
            raise _error(line, f"invalid name for build stage: {words[2]!r}, name can't start "
                               "with a number or contain symbols")
    return Stage(words[0], name, platform, body, from_instruction)
