"""Several containers' logs on one terminal, each line behind its container's name.

One thread per followed container (each stream blocks until its container stops); lines
are written whole under a lock so two containers never interleave within a line. The
caller's thread only joins, so Ctrl-C reaches it as ``KeyboardInterrupt``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TextIO

from dockyard.compose.backend import ComposeBackend
from dockyard.compose.streams import LinePrefixer, prefixes
from dockyard.errors import DockyardError, Internal


def follow_logs(
    backend: ComposeBackend, targets: Sequence[tuple[str, str]], out: TextIO, *,
    follow: bool = True, tail: str | None = None, timestamps: bool = False,
    prefix: bool = True, since_start: bool = False, announce_exit: bool = False,
) -> None:
    """Copy the logs of ``targets`` (``(display name, container id)``) to ``out``.

    Without ``follow`` the containers are printed one after the other; with it, all at
    once until every stream ends. ``announce_exit`` adds compose's ``web-1 exited with
    code 0`` line when a stream ends. ``since_start`` is accepted for clarity: the logs
    of a container hold everything since it started, so attaching late loses nothing.
    """
    del since_start
    lock = threading.Lock()
    heads = prefixes(name for name, _ in targets) if prefix else {n: "" for n, _ in targets}
    failures: list[str] = []

    def copy(name: str, container_id: str) -> None:
        lines = LinePrefixer(heads[name])
        try:
            for _stream, data in backend.logs(container_id, follow=follow, tail=tail,
                                              timestamps=timestamps):
                text = lines.feed(data)
                if text:
                    with lock:
                        out.write("".join(text))
                        out.flush()
            rest = lines.flush()
            if announce_exit:
                state = backend.inspect_container(container_id).get("State") or {}
                rest.append(f"{name} exited with code {state.get('ExitCode', 0)}\n")
            with lock:
                out.write("".join(rest))
                out.flush()
        except DockyardError as err:
            failures.append(f"{name}: {err}")

    if not follow:
        for name, container_id in targets:
            copy(name, container_id)
    else:
        threads = [threading.Thread(target=copy, args=target, daemon=True,
                                    name=f"logs-{target[0]}") for target in targets]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.2)
    if failures:
        raise Internal("; ".join(failures))
