"""``docker import --change``: Dockerfile instructions applied to an image's run config.

Only the instructions that describe how a container runs are allowed, as in Docker
(``RUN`` or ``COPY`` would need a build). Values go through the Dockerfile word rules:
quotes are removed, backslash escapes honoured and ``$VAR`` / ``${VAR}`` expanded from
the environment set so far, for every instruction except ``CMD`` and ``ENTRYPOINT``
(whose shell form is left for the shell to expand at run time).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import replace

from dockyard.errors import InvalidParameter
from dockyard.images.config import RunConfig

_ALLOWED = ("cmd", "entrypoint", "env", "expose", "label", "stopsignal", "user", "volume",
            "workdir")
_PROTOCOLS = ("tcp", "udp", "sctp")


def split_instructions(changes: Iterable[str]) -> list[tuple[str, str]]:
    """Each change (or line of one) → (instruction, rest); continuation lines joined."""
    out: list[tuple[str, str]] = []
    for change in changes:
        pending = ""
        for raw in change.splitlines():
            line = raw.strip()
            if not pending and (not line or line.startswith("#")):
                continue
            if line.endswith("\\"):
                pending += line[:-1]
                continue
            pending += line
            keyword, _, rest = pending.strip().partition(" ")
            if "\t" in keyword:
                keyword, _, more = keyword.partition("\t")
                rest = more + " " + rest
            out.append((keyword.lower(), rest.strip()))
            pending = ""
        if pending.strip():
            keyword, _, rest = pending.strip().partition(" ")
            out.append((keyword.lower(), rest.strip()))
    return out


def split_words(text: str) -> list[str]:
    """Split on unquoted whitespace, keeping quotes and escapes for :func:`process_word`."""
    words: list[str] = []
    current = ""
    quote = ""
    escaped = False
    for char in text:
        if escaped:
            current += char
            escaped = False
        elif char == "\\" and quote != "'":
            current += char
            escaped = True
        elif quote:
            current += char
            if char == quote:
                quote = ""
        elif char in "'\"":
            current += char
            quote = char
        elif char.isspace():
            if current:
                words.append(current)
            current = ""
        else:
            current += char
    if quote:
        raise InvalidParameter(f"unexpected end of statement while looking for matching {quote}"
                               f" in {text!r}")
    if current:
        words.append(current)
    return words


def process_word(word: str, env: dict[str, str]) -> str:
    """Remove quotes, apply escapes and expand variables, as Docker's shell lexer does."""
    out: list[str] = []
    i = 0
    quote = ""
    while i < len(word):
        char = word[i]
        if quote == "'":
            if char == "'":
                quote = ""
            else:
                out.append(char)
            i += 1
        elif char == "\\" and i + 1 < len(word):
            nxt = word[i + 1]
            # Inside double quotes only \" \\ \$ are escapes; elsewhere any char is.
            if quote == '"' and nxt not in '"\\$':
                out.append(char)
            out.append(nxt)
            i += 2
        elif char == "$":
            value, i = _expand(word, i, env)
            out.append(value)
        elif char == '"':
            quote = "" if quote == '"' else '"'
            i += 1
        elif char == "'" and not quote:
            quote = "'"
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _expand(word: str, i: int, env: dict[str, str]) -> tuple[str, int]:
    """Expand the variable starting at word[i] == '$'; returns (value, next index)."""
    if i + 1 < len(word) and word[i + 1] == "{":
        end = word.find("}", i + 2)
        if end < 0:
            raise InvalidParameter(f"missing '}}' in {word!r}")
        body = word[i + 2:end]
        name, op, arg = body, "", ""
        for candidate in (":-", ":+", "-", "+"):
            if candidate in body:
                name, _, arg = body.partition(candidate)
                op = candidate
                break
        value = env.get(name)
        if op in (":-", "-"):
            if value is None or (op == ":-" and value == ""):
                value = process_word(arg, env)
        elif op in (":+", "+"):
            value = process_word(arg, env) if value not in (None, "") or (
                op == "+" and value is not None) else ""
        return value or "", end + 1
    j = i + 1
    while j < len(word) and (word[j].isalnum() or word[j] == "_"):
        j += 1
    if j == i + 1:
        return "$", j
    return env.get(word[i + 1:j], ""), j


def _env_dict(config: RunConfig) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in config.env:
        key, _, value = item.partition("=")
        env[key] = value
    return env


def _name_values(keyword: str, rest: str, env: dict[str, str]) -> list[tuple[str, str]]:
    """ENV and LABEL: ``K=V K2="v 2"`` pairs, or the legacy ``K the rest of the line``."""
    words = split_words(rest)
    if not words:
        raise InvalidParameter(f"{keyword.upper()} requires at least one argument")
    if "=" not in words[0]:
        if len(words) < 2:
            raise InvalidParameter(f"{keyword.upper()} must have two arguments")
        key = process_word(words[0], env)
        value = process_word(rest.strip()[len(words[0]):].strip(), env)
        return [(key, value)]
    pairs = []
    for word in words:
        if "=" not in word:
            raise InvalidParameter(
                f"Syntax error - can't find = in {word!r}. Must be of the form: name=value")
        key, _, value = word.partition("=")
        key = process_word(key, env)
        if not key:
            raise InvalidParameter(f"{keyword.upper()} names can not be blank")
        pairs.append((key, process_word(value, env)))
    return pairs


def json_string_list(text: str) -> list[str] | None:
    """The instruction's JSON (exec) form, a list of strings; None when it is not one
    (Docker then reads the text as the shell form)."""
    if not text.startswith("["):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
        return parsed
    return None


def _command(keyword: str, rest: str) -> tuple[str, ...]:
    """Exec form (a JSON array of strings) or shell form wrapped in ``/bin/sh -c``."""
    parsed = json_string_list(rest)
    if parsed is not None:
        return tuple(parsed)
    if not rest:
        raise InvalidParameter(f"{keyword.upper()} requires at least one argument")
    return ("/bin/sh", "-c", rest)


def parse_port_spec(spec: str) -> list[str]:
    """``80``, ``80/udp``, ``8000-8002/tcp`` → ["80/tcp"] etc. (Docker's nat.ParsePortSpecs)."""
    port, _, proto = spec.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in _PROTOCOLS:
        raise InvalidParameter(f"invalid proto: {proto!r} in port {spec!r}")
    start_text, dash, end_text = port.partition("-")
    try:
        start = int(start_text)
        end = int(end_text) if dash else start
    except ValueError:
        raise InvalidParameter(f"invalid containerPort: {port!r}") from None
    if not (0 <= start <= 65535 and 0 <= end <= 65535):
        raise InvalidParameter(f"invalid containerPort: {port!r}")
    if end < start:
        raise InvalidParameter(f"invalid range specified for container port: {port!r}")
    return [f"{number}/{proto}" for number in range(start, end + 1)]


def apply_changes(config: RunConfig, changes: Iterable[str],
                  build_args: Mapping[str, str] | None = None) -> RunConfig:
    """Apply ``--change`` lines in order to ``config``; InvalidParameter on any bad one.
    ``build_args``: a build's ARG values, which expand like ENV (an ENV of the same name
    wins, as in a Dockerfile)."""
    instructions = split_instructions(changes)
    for keyword, _ in instructions:
        if keyword not in _ALLOWED:
            raise InvalidParameter(f"{keyword} is not a valid change command")
    cmd_set = False
    for keyword, rest in instructions:
        env = {**(build_args or {}), **_env_dict(config)}
        if keyword == "cmd":
            config = replace(config, cmd=_command(keyword, rest))
            cmd_set = True
        elif keyword == "entrypoint":
            entrypoint = _command(keyword, rest)
            # As in a Dockerfile, a new ENTRYPOINT drops an inherited CMD.
            config = replace(config, entrypoint=entrypoint,
                             cmd=config.cmd if cmd_set else None)
        elif keyword == "env":
            for key, value in _name_values(keyword, rest, env):
                config = config.with_env(key, value)
        elif keyword == "label":
            for key, value in _name_values(keyword, rest, env):
                config = config.with_label(key, value)
        elif keyword == "expose":
            words = [process_word(word, env) for word in split_words(rest)]
            if not words:
                raise InvalidParameter("EXPOSE requires at least one argument")
            ports = set(config.exposed_ports)
            for word in words:
                ports.update(parse_port_spec(word))
            config = replace(config, exposed_ports=tuple(sorted(ports)))
        elif keyword == "workdir":
            config = replace(config, working_dir=_workdir(config.working_dir, rest, env))
        elif keyword == "user":
            words = split_words(rest)
            if len(words) != 1:
                raise InvalidParameter("USER requires exactly one argument")
            config = replace(config, user=process_word(words[0], env))
        elif keyword == "volume":
            config = replace(config, volumes=tuple(sorted(
                set(config.volumes) | set(_volumes(rest, env)))))
        elif keyword == "stopsignal":
            words = split_words(rest)
            if len(words) != 1:
                raise InvalidParameter("STOPSIGNAL requires exactly one argument")
            config = replace(config, stop_signal=process_word(words[0], env))
    return config


def _workdir(current: str, rest: str, env: dict[str, str]) -> str:
    if not rest:
        raise InvalidParameter("WORKDIR requires exactly one argument")
    requested = process_word(rest, env)
    if not requested:
        raise InvalidParameter("cannot normalize nothing")
    if not posixpath.isabs(requested):
        requested = posixpath.join("/", current, requested)
    return posixpath.normpath(requested).replace("//", "/")


def _volumes(rest: str, env: dict[str, str]) -> list[str]:
    parsed = json_string_list(rest)
    if parsed is not None:
        items = [process_word(item, env) for item in parsed]
    else:
        items = [process_word(word, env) for word in split_words(rest)]
    if not items or any(not item.strip() for item in items):
        raise InvalidParameter("VOLUME specified can not be an empty string")
    return items
