"""What every API command shares: the daemon address, the client, docker's error output."""

import posix
import sys

from dockyard.cli.flags import (
    ArgumentsError,
    Flag,
    HelpRequested,
    UsageError,
    parse,
    usage_text,
)
from dockyard.client import jsonlite
from dockyard.client.http import APIError, Client, ConnectError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any


# The environment is read through ``posix``, which every interpreter has loaded at start:
# importing ``os`` costs ~2 ms of each command here (it builds ``_collections_abc``'s
# thirty abstract classes), more than the daemon spends on most requests.
def getenv(name: str) -> str | None:
    value = posix.environ.get(name.encode())
    return None if value is None else value.decode(errors="surrogateescape")


def environ() -> dict[str, str]:
    return {key.decode(errors="surrogateescape"): value.decode(errors="surrogateescape")
            for key, value in posix.environ.items()}


class Context:
    def __init__(self, host: str | None = None) -> None:
        self.host = host  # from --host/-H
        self._client: Client | None = None

    def client(self) -> Client:
        """The client for the chosen daemon; on the default address, a daemon is started
        in the background when none answers (the embedded default)."""
        if self._client is not None:
            return self._client
        url, chosen = self.address()
        if chosen:
            self._client = Client(url)
            return self._client
        client = Client(url)
        try:
            client.request("GET", "/_ping")
        except ConnectError:
            from dockyard.client.autostart import start_daemon

            start_daemon(client, self._exec_root())
        self._client = client
        return client

    def address(self) -> "tuple[str, bool]":
        """The daemon's URL, and whether the user chose it (``--host`` or ``DOCKER_HOST``)
        rather than the default socket."""
        chosen = self.host or getenv("DOCKER_HOST")
        if chosen:
            return chosen, True
        return "unix://" + self._exec_root().rstrip("/") + "/dockyard.sock", False

    @staticmethod
    def _exec_root() -> str:
        return getenv("DOCKYARD_EXEC_ROOT") or "/run/dockyard"


if TYPE_CHECKING:
    Command = Callable[[Context, list[str]], int]


def parse_or_usage(cmd: str, usage: str, summary: str, flags: "Sequence[Flag]", args: list[str],
                   nargs: tuple[int, int | None] = (0, None)) -> "tuple[dict[str, Any], list[str]]":
    """Flags and positionals; usage errors are raised as docker (28) words them."""
    try:
        values, positional = parse(flags, args)
    except HelpRequested:
        print(usage_text(usage, summary, flags))
        raise SystemExit(0) from None
    except UsageError as err:
        raise UsageError(with_usage(str(err), cmd, usage)) from None
    low, high = nargs
    if len(positional) < low or (high is not None and len(positional) > high):
        raise ArgumentsError(with_usage(f"dockyard: 'dockyard {cmd}' requires "
                                        f"{wanted_arguments(low, high)}", cmd, usage))
    return values, positional


def wanted_arguments(low: int, high: int | None) -> str:
    """Docker's words for how many arguments a command takes."""
    if high == low:
        want = f"{low}"
    elif high is None:
        want = f"at least {low}"
    elif low == 0:
        want = f"at most {high}"
    else:
        want = f"at least {low} and at most {high}"
    return f"{want} argument" + ("" if (high if high is not None else low) == 1 else "s")


def with_usage(message: str, cmd: str, usage: str) -> str:
    return f"{message}\n\nUsage:  {usage}\n\nRun 'dockyard {cmd} --help' for more information"


def daemon_error(err: APIError) -> int:
    print(f"Error response from daemon: {err.message}", file=sys.stderr)
    return 1


def print_json(docs: "Any") -> None:
    """Indented as the docker CLI indents inspect output (4 spaces)."""
    print(jsonlite.dumps_indented(docs))


def parse_filters(values: "Sequence[str]") -> str | None:
    """``--filter k=v`` flags as the API's filters JSON (``{"k": {"v": true}}``)."""
    if not values:
        return None
    doc: dict[str, dict[str, bool]] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep:
            raise UsageError("bad format of filter (expected name=value)")
        doc.setdefault(key.strip().lower(), {})[rest] = True
    return jsonlite.dumps(doc)


def confirm(question: str) -> bool:
    print(f"{question}\nAre you sure you want to continue? [y/N] ", end="", flush=True)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def write_atomically(path: str, chunks: "Iterable[bytes]") -> int:
    """An archive (``save -o``, ``export -o``) written as docker's atomic writer does: to a
    temp file beside ``path``, renamed over it once complete, so that an interrupted
    download never leaves a truncated archive behind."""
    import os
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(dir=directory, prefix=".docker_temp_")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
    return 0
