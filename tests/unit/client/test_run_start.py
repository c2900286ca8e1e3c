"""``run -d`` asks the daemon to start on create; an engine that ignores that (Docker's)
still gets its start request."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.cli import container
from dockyard.cli.context import Context
from dockyard.client.http import APIError


class FakeClient:
    def __init__(self, reply: dict[str, Any], start_error: str | None = None) -> None:
        self.reply = reply
        self.start_error = start_error
        self.calls: list[tuple[str, str, dict[str, Any] | None]] = []

    def post(self, path: str, body: object, query: dict[str, Any] | None = None) -> Any:
        self.calls.append(("POST", path, query))
        return self.reply

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        self.calls.append((method, path, kwargs.get("query")))
        if path.endswith("/start") and self.start_error:
            raise APIError(400, self.start_error)
        return None


def _run(client: FakeClient, *args: str) -> int:
    ctx = Context("unix:///unused.sock")
    ctx._client = client  # type: ignore[assignment]
    return container.run(ctx, ["-d", *args, "busybox", "sleep", "60"])


def test_a_daemon_that_started_it_gets_one_request(capsys: pytest.CaptureFixture[str]) -> None:
    client = FakeClient({"Id": "c1", "Warnings": [], "DockyardStarted": True})
    assert _run(client) == 0
    assert capsys.readouterr().out == "c1\n"
    assert [(m, p) for m, p, _ in client.calls] == [("POST", "/containers/create")]
    assert client.calls[0][2] == {"name": None, "dockyard-start": "1"}


def test_an_engine_that_only_created_it_is_asked_to_start(
        capsys: pytest.CaptureFixture[str]) -> None:
    client = FakeClient({"Id": "c2", "Warnings": []})
    assert _run(client) == 0
    assert capsys.readouterr().out == "c2\n"
    assert [(m, p) for m, p, _ in client.calls] == [
        ("POST", "/containers/create"), ("POST", "/containers/c2/start")]


def test_a_start_error_either_way_is_dockers_message_and_code(
        capsys: pytest.CaptureFixture[str]) -> None:
    message = 'failed to create task: exec: "x": executable file not found in $PATH'
    told = FakeClient({"Id": "c3", "Warnings": [], "DockyardStartError": {"message": message}})
    asked = FakeClient({"Id": "c4", "Warnings": []}, start_error=message)
    for client in (told, asked):
        assert _run(client, "--rm") == 127
        err = capsys.readouterr().err
        assert f"Error response from daemon: {message}" in err
        # --rm: the container that could not start is removed.
        assert client.calls[-1] == ("DELETE", f"/containers/{client.reply['Id']}",
                                    {"force": "1", "v": "1"})
