"""The pure halves of pause and memory limits: Docker's size syntax and limit checks,
the create body and spec, dyrun's directives, the JSON and status, the events."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.api.container_json import human_status, parse_create
from dockyard.api.events import Event
from dockyard.api.state_events import StateEvents
from dockyard.cli.flags import UsageError, parse
from dockyard.cli.run_opts import RUN_FLAGS, create_body, ram_in_bytes, split_command
from dockyard.errors import InvalidParameter
from dockyard.kernel.lean import dyrun_args, exec_args, memory_limits
from dockyard.runtime.container import Container, ContainerSpec
from dockyard.runtime.inspect import Paths, inspect_doc
from dockyard.runtime.options import check_memory
from dockyard.runtime.spec import INIT_PATH, ProcessSpec, build_spec

MiB = 1024 * 1024


def body_for(*args: str) -> dict[str, Any]:
    flags, command = split_command(list(args), RUN_FLAGS)
    opts, rest = parse(RUN_FLAGS, flags)
    return create_body(opts, rest[0], command, {})


@pytest.mark.parametrize(("text", "size"), [
    ("8m", 8 * MiB), ("8M", 8 * MiB), ("8mb", 8 * MiB), ("8MiB", 8 * MiB), ("512k", 512 * 1024),
    ("1.5g", 3 * 512 * MiB), ("100", 100), ("100b", 100), ("8 m", 8 * MiB), ("1t", 1 << 40),
])
def test_sizes_as_docker_reads_them(text: str, size: int) -> None:
    assert ram_in_bytes(text) == size


@pytest.mark.parametrize(("text", "message"), [
    ("12x", "invalid suffix: 'x'"), ("8mx", "invalid suffix: 'mx'"),
    ("8kbib", "invalid suffix: 'kbib'"), ("abc", "invalid size: 'abc'"),
    ("-1", "invalid size: '-1'"), ("1..2", 'strconv.ParseFloat: parsing "1..2": invalid syntax'),
])
def test_bad_sizes_get_dockers_words(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        ram_in_bytes(text)


def test_memory_flags_in_the_create_body() -> None:
    host = body_for("-m", "64m", "--memory-swap", "-1", "busybox")["HostConfig"]
    assert (host["Memory"], host["MemorySwap"]) == (64 * MiB, -1)
    host = body_for("--memory=1g", "busybox")["HostConfig"]
    assert (host["Memory"], host["MemorySwap"]) == (1 << 30, 0)
    assert body_for("busybox")["HostConfig"]["Memory"] == 0
    with pytest.raises(UsageError, match="""invalid argument "12x" for "-m, --memory" flag: """
                                         "invalid suffix: 'x'"):
        body_for("-m", "12x", "busybox")
    with pytest.raises(UsageError, match='for "--memory-swap" flag'):
        body_for("-m", "8m", "--memory-swap", "lots", "busybox")


def test_memory_in_the_api_body() -> None:
    spec = parse_create({"Image": "busybox", "HostConfig": {"Memory": 8 * MiB,
                                                             "MemorySwap": -1}}, None).spec
    assert (spec.memory, spec.memory_swap) == (8 * MiB, -1)
    with pytest.raises(InvalidParameter, match=r'"HostConfig\.Memory"'):
        parse_create({"Image": "busybox", "HostConfig": {"Memory": "8m"}}, None)


def test_dockers_memory_checks() -> None:
    assert check_memory(0, 0) == 0
    assert check_memory(8 * MiB, 0) == 16 * MiB  # swap as large as memory, by default
    assert check_memory(8 * MiB, 8 * MiB) == 8 * MiB
    assert check_memory(8 * MiB, -1) == -1
    with pytest.raises(InvalidParameter, match=r"^Minimum memory limit allowed is 6MB$"):
        check_memory(6 * MiB - 1, 0)
    with pytest.raises(InvalidParameter, match=r"^Minimum memory limit allowed is 6MB$"):
        check_memory(-5, 0)
    with pytest.raises(InvalidParameter, match="Minimum memoryswap limit should be larger "
                                               "than memory limit, see usage"):
        check_memory(8 * MiB, 7 * MiB)
    with pytest.raises(InvalidParameter, match="You should always set the Memory limit when "
                                               "using Memoryswap limit, see usage"):
        check_memory(0, 8 * MiB)
    with pytest.raises(InvalidParameter, match='memory swap limit "-2"'):
        check_memory(8 * MiB, -2)


def oci(memory: int = 0, swap: int = 0) -> dict[str, Any]:
    return build_spec(rootfs="/r", hostname="h", netns=None, init_binary="/i",
                      process=ProcessSpec(args=(INIT_PATH, "sh"), env=(), cwd="/", uid=0,
                                          gid=0), memory=memory, memory_swap=swap)


def test_the_limit_reaches_runc_and_dyrun() -> None:
    assert "memory" not in oci()["linux"]["resources"]
    assert oci(8 * MiB, 16 * MiB)["linux"]["resources"]["memory"] == {
        "limit": 8 * MiB, "swap": 16 * MiB}
    assert memory_limits(oci(8 * MiB, -1)) == (8 * MiB, -1)
    args = dyrun_args(oci(8 * MiB, 16 * MiB), memory_cgroup="/cg/memory/dockyard-x")
    at = args.index("--memory")
    assert args[at:at + 4] == ["--memory", "/cg/memory/dockyard-x", str(8 * MiB),
                               str(16 * MiB)]
    assert args.index("--memory") < args.index("--")
    assert "--memory" not in dyrun_args(oci(), memory_cgroup="/cg/memory/dockyard-x")
    execs = exec_args(7, oci()["process"], joins=["/cg/memory/dockyard-x"])
    assert execs[execs.index("--join") + 1] == "/cg/memory/dockyard-x"


def container(**state: Any) -> Container:
    c = Container(id="c" * 64, name="web", created="2024-01-01T00:00:00Z", image_id="i",
                  image_ref="busybox", path="sh", args=(), env=(), workdir="", user="",
                  hostname="h", domainname="", labels={"tier": "a"}, stop_signal="",
                  stop_timeout=None, exposed=(), cmd=("sh",), entrypoint=None,
                  spec=ContainerSpec("busybox", memory=8 * MiB, memory_swap=16 * MiB))
    return c.with_state(**state)


def test_paused_and_oom_killed_in_the_json() -> None:
    running = dict(status="running", pid=42, started_at="2024-01-01T00:00:00Z")
    doc = inspect_doc(container(**running, paused=True), attached={}, sandbox=None,
                      paths=Paths())
    state = doc["State"]
    assert (state["Status"], state["Running"], state["Paused"]) == ("paused", True, True)
    assert (doc["HostConfig"]["Memory"], doc["HostConfig"]["MemorySwap"]) == (8 * MiB,
                                                                              16 * MiB)
    doc = inspect_doc(container(status="exited", exit_code=137, oom_killed=True),
                      attached={}, sandbox=None, paths=Paths())
    assert (doc["State"]["Status"], doc["State"]["OOMKilled"]) == ("exited", True)
    now = 1704067200.0 + 125
    assert human_status({"Status": "paused", "StartedAt": "2024-01-01T00:00:00Z"},
                        now) == "Up 2 minutes (Paused)"


class Bus:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, event: Event) -> None:
        self.events.append(event)


def test_pause_unpause_and_oom_events_from_saved_states() -> None:
    bus = Bus()
    events = StateEvents(bus)  # type: ignore[arg-type]
    events.remember(container(status="running", pid=1))
    events(container(status="running", pid=1, paused=True))
    events(container(status="running", pid=1, paused=False))
    events(container(status="exited", exit_code=137, oom_killed=True))
    events(container(status="exited", exit_code=137, oom_killed=True))  # no second oom
    assert [e.action for e in bus.events] == ["pause", "unpause", "oom"]
    assert bus.events[0].attributes == {"tier": "a", "image": "busybox", "name": "web"}
    # An exit while paused is no unpause; a state never seen before reports nothing.
    bus.events.clear()
    events(container(status="running", pid=2, paused=True))
    events(container(status="exited", exit_code=137))
    other = StateEvents(bus)  # type: ignore[arg-type]
    other(container(status="running", pid=1, paused=True))
    assert [e.action for e in bus.events] == ["pause"]
