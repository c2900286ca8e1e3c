"""What one instruction's words mean, as values (pure): COPY's sources and destination,
HEALTHCHECK's flags, ``--chown`` names, and the key the build cache files a step under."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from dockyard.api.timeparse import parse_duration
from dockyard.build.dockerfile import Instruction
from dockyard.errors import DockyardError, InvalidParameter
from dockyard.images.changes import json_string_list, split_words
from dockyard.runtime.health import HealthConfig


class BuildError(DockyardError):
    """A step failed; the message is what the client prints."""

    status = 400


def copy_words(args: str) -> list[str]:
    """COPY/ADD's words: a JSON array (for names with spaces), or whitespace-split."""
    parsed = json_string_list(args)
    if parsed is not None:  # quoted, so that each stays one word, and still expanded
        return [json.dumps(item, ensure_ascii=False) for item in parsed]
    return split_words(args)


def healthcheck(instruction: Instruction) -> HealthConfig:
    """``HEALTHCHECK [--interval=…] CMD command`` (exec or shell form) or ``NONE``."""
    flags = dict(instruction.flags)
    args = instruction.args.strip()
    first, _, rest = args.partition(" ")
    if first.upper() == "NONE":
        return HealthConfig(test=("NONE",))
    if first.upper() != "CMD":
        raise InvalidParameter("Unknown type in HEALTHCHECK (try CMD)")
    rest = rest.strip()
    command = json_string_list(rest)
    test = ("CMD", *command) if command is not None else ("CMD-SHELL", rest)

    def duration(name: str) -> int:
        if not flags.get(name):
            return 0
        seconds = parse_duration(flags[name])
        if seconds is None:
            raise InvalidParameter(f'HEALTHCHECK --{name} "{flags[name]}": not a duration '
                                   "such as 30s or 1m30s")
        return round(seconds * 1_000_000_000)

    unknown = set(flags) - {"interval", "timeout", "start-period", "start-interval", "retries"}
    if unknown:
        raise InvalidParameter(f"HEALTHCHECK: unknown flag: {sorted(unknown)[0]}")
    check = HealthConfig(test=test, interval_ns=duration("interval"),
                         timeout_ns=duration("timeout"),
                         start_period_ns=duration("start-period"),
                         start_interval_ns=duration("start-interval"),
                         retries=_count(flags.get("retries") or "0"))
    check.validate()
    return check


def _count(text: str) -> int:
    if not text.isdigit():
        raise InvalidParameter(f'HEALTHCHECK --retries "{text}": not a number')
    return int(text)


def owner_id(name: str, table: bytes, kind: str) -> int:
    """A ``--chown`` user or group: a number as it is, a name looked up in the image's
    /etc/passwd or /etc/group (``table``)."""
    if name.isdigit():
        return int(name)
    for line in table.decode(errors="replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[0] == name and fields[2].isdigit():
            return int(fields[2])
    raise BuildError(f"unable to convert uid/gid chown string to host mapping: no such "
                     f"{kind}: {name}")


def step_key(*parts: Any) -> str:
    """The build cache's key for a step: what it ran or changed, and the config after."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
