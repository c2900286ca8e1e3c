"""Errors of the compose front end.

Every problem in a compose project is the user's input, so all of them are
``InvalidParameter``; the subclasses only say which stage found it, and every message
starts with the file and the key path at fault::

    ComposeError(InvalidParameter)
    ├── ComposeFileError       no compose file, unreadable file, bad YAML, missing env file
    ├── InterpolationError     ${VAR:?msg}, ${VAR?msg}, a malformed ${...}
    ├── SchemaError            the compose specification's JSON schema rejects a key
    ├── SyntaxFormError        a short syntax that does not parse (ports, volumes, durations)
    ├── ExtendsError           extends an unknown service or file, or a cycle
    └── ProjectError           cross-reference checks: unknown service, network or volume,
                               depends_on cycles, conflicting settings, project name
"""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.errors import InvalidParameter

KeyPath = Sequence[str | int]


def format_path(path: KeyPath) -> str:
    """``("services", "web", "ports", 0)`` → ``services.web.ports[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


class ComposeError(InvalidParameter):
    """A compose project cannot be loaded; the message names file, key path and value."""

    def __init__(self, detail: str, *, file: str | None = None, path: KeyPath = ()) -> None:
        prefix = ""
        if file:
            prefix += f"{file}: "
        if path:
            prefix += f"{format_path(path)}: "
        super().__init__(prefix + detail)
        self.detail = detail
        self.file = file
        self.path = tuple(path)


class ComposeFileError(ComposeError):
    pass


class InterpolationError(ComposeError):
    pass


class SchemaError(ComposeError):
    pass


class SyntaxFormError(ComposeError):
    pass


class ExtendsError(ComposeError):
    pass


class ProjectError(ComposeError):
    pass
