"""``--init``: docker's pointer boolean, from the CLI's flag to the API's HostConfig.Init
(unset, true and false differ: unset leaves the daemon's default, dockerd --init)."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.api.container_json import parse_create
from dockyard.cli.flags import parse
from dockyard.cli.run_opts import RUN_FLAGS, create_body, split_command
from dockyard.daemon.main import parse_args
from dockyard.errors import InvalidParameter


def body_for(*args: str) -> dict[str, Any]:
    flags, command = split_command(list(args), RUN_FLAGS)
    opts, rest = parse(RUN_FLAGS, flags)
    body = create_body(opts, rest[0], command, {})
    assert rest[0] == "busybox" and body["Cmd"] == ["sleep", "1"]  # --init takes no value
    return body


@pytest.mark.parametrize(("flags", "init"), [
    ((), None), (("--init",), True), (("--init=true",), True), (("--init=false",), False),
])
def test_the_cli_sends_init_only_when_given(flags: tuple[str, ...], init: bool | None) -> None:
    assert body_for(*flags, "busybox", "sleep", "1")["HostConfig"]["Init"] is init


@pytest.mark.parametrize("init", [None, True, False])
def test_the_api_keeps_init_unset_true_or_false(init: bool | None) -> None:
    spec = parse_create({"Image": "busybox", "HostConfig": {"Init": init}}, None).spec
    assert spec.init is init


def test_a_wrongly_typed_init_is_refused_by_name() -> None:
    with pytest.raises(InvalidParameter, match=r'"HostConfig\.Init"'):
        parse_create({"Image": "busybox", "HostConfig": {"Init": "yes"}}, None)


def test_daemon_runtime_and_init_flags() -> None:
    config = parse_args(["--root", "/r", "--exec-root", "/x"])
    assert (config.runtime, config.init) == (None, False)
    config = parse_args(["--root", "/r", "--exec-root", "/x", "--runtime", "runc", "--init"])
    assert (config.runtime, config.init) == ("runc", True)
    with pytest.raises(SystemExit):
        parse_args(["--runtime", "crun"])
