"""``/containers`` and ``/exec``: the runtime's :class:`ContainerManager` behind Docker's API.

Every manager call is blocking (runc, the store, the engine's lock), so it runs off the
event loop; waiting (``wait``, ``logs -f``, ``attach``) happens on the loop instead of
parking a worker thread per waiting client (``wait`` wakes on the container's events).
Events (create, start, stop, kill, restart, rename) are published here, where the request
that caused them is; ``die`` comes from :mod:`dockyard.api.container_events`, which
watches exits, and ``destroy`` from the daemon's manager (dockyard/daemon/runtime.py),
which also sees the removals that AutoRemove makes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from dockyard.api.app import backend, json_response, path_ref, query_bool
from dockyard.api.backend import Backend
from dockyard.api.bodies import get_bool, get_str, get_str_list, parse_json_body
from dockyard.api.container_json import (
    LIST_FILTERS,
    console_size,
    list_view,
    matches,
    parse_create,
)
from dockyard.api.events import Event
from dockyard.api.execs import ExecConfig
from dockyard.api.filters import parse_filters, prune_test
from dockyard.api.stats_json import stats_doc
from dockyard.api.streams import MULTIPLEXED, RAW, STDERR, STDOUT, frame, hijack
from dockyard.errors import (
    Conflict,
    DockyardError,
    InvalidParameter,
    NotFound,
    NotImplementedKind,
    Unavailable,
)
from dockyard.escape import parse_detach_keys
from dockyard.kernel import cgroups, ps
from dockyard.kernel import stats as kstats
from dockyard.runtime import logs as logfile
from dockyard.runtime.container import CONTAINER_KIND, RUNNING, Container
from dockyard.runtime.manager import ContainerManager

POLL = 0.05  # seconds between looks at a container's state while a client waits
# ``wait`` looks again on each event naming its container, and at least this often: for
# a client that went away, and any change no event reports.
WAIT_FALLBACK = 0.5


def manager(b: Backend) -> ContainerManager:
    if b.containers is None:
        raise Unavailable("containers are not available: the daemon runs without the "
                          "container runtime")
    return b.containers  # type: ignore[no-any-return]


async def _body(request: web.Request, required: bool = False) -> dict[str, Any]:
    raw = await request.read()
    return dict(parse_json_body(raw, request.headers.get("Content-Type"), required=required))


def publish(b: Backend, c: Container, action: str, **extra: str) -> None:
    attributes = {**c.labels, "image": c.image_ref, "name": c.name, **extra}
    b.events.publish(Event("container", action, c.id, attributes))


def _reload(m: ContainerManager, container_id: str) -> Container | None:
    doc = m.store.get(CONTAINER_KIND, container_id)
    return Container.from_doc(doc) if doc is not None else None


async def _get(b: Backend, ref: str) -> Container:
    return await b.run(manager(b).get, ref)


def _int_query(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidParameter(f'invalid value "{value}" for query parameter "{name}": '
                               "must be an integer") from None


# ------------------------------------------------------------------ create & list


# Dockyard's own addition to ``POST /containers/create``: with ``dockyard-start=1`` the
# container is also started, as ``docker run -d`` would do next with a second request. Our
# CLI asks for it to spare a whole request per ``run -d`` (its parse, routing, reply, and
# two thread wake-ups); it knows the start happened by ``DockyardStarted`` in the reply,
# and asks for the start itself when that is missing (an engine that ignores the query,
# such as Docker's). A start that fails leaves the container created, as with two
# requests, and comes back as ``DockyardStartError`` beside the new id.
START_QUERY = "dockyard-start"
STARTED_FIELD = "DockyardStarted"
START_ERROR_FIELD = "DockyardStartError"


async def create(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    m = manager(b)
    body = await _body(request, required=True)
    req = parse_create(body, request.query.get("name"))
    and_start = query_bool(request, START_QUERY)

    def create_and_connect() -> tuple[Container, Container | None, DockyardError | None]:
        c = m.create(req.spec)
        try:
            for extra in req.extra_networks:
                m.connect(c.id, extra.network, aliases=extra.aliases, ipv4=extra.ipv4,
                          ipv6=extra.ipv6, mac=extra.mac, gw_priority=extra.gw_priority)
        except BaseException:
            with contextlib.suppress(DockyardError):
                m.remove(c.id, force=True, volumes=True)
            raise
        if not and_start:
            return c, None, None
        try:
            return c, m.start(c.id), None
        except DockyardError as err:
            return c, None, err

    c, started, error = await b.run(create_and_connect)
    publish(b, c, "create")
    reply: dict[str, Any] = {"Id": c.id, "Warnings": list(req.warnings)}
    if started is not None:
        publish(b, started, "start")
        reply[STARTED_FIELD] = True
    elif error is not None:
        reply[START_ERROR_FIELD] = {"message": error.message, "status": error.status}
    return json_response(reply, 201)


def _list(b: Backend, all_: bool, filters: dict[str, list[str]], limit: int | None,
          size: bool = False) -> list[dict[str, Any]]:
    m = manager(b)
    image_ids: dict[str, str] = {}
    for ref in filters.get("ancestor", []):
        with contextlib.suppress(DockyardError):
            image_ids[ref] = b.images.resolve(ref)
    out = []
    state = m.engine.state()
    for c in reversed(m.containers()):
        inspected = m.inspect_container(c, state)
        status = inspected["State"]["Status"]
        if (not all_ and status not in ("running", "restarting", "paused")
                and "status" not in filters):
            continue
        from dockyard.runtime.inspect import list_item

        item = list_item(c, inspected)
        if not matches(item, inspected, filters, image_ids):
            continue
        view = list_view(item, inspected)
        if size:
            _add_sizes(view, m.sizes(c.id), omit_zero=True)
        out.append(view)
        if limit is not None and limit > 0 and len(out) >= limit:
            break
    return out


async def list_containers(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    if b.containers is None:
        return json_response([])
    filters = parse_filters(request.query.get("filters"), LIST_FILTERS)
    limit = _int_query(request, "limit")
    all_ = query_bool(request, "all") or (limit is not None and limit > 0)
    return json_response(await b.run(_list, b, all_, filters, limit,
                                      query_bool(request, "size")))


def _add_sizes(doc: dict[str, Any], sizes: tuple[int, int], *, omit_zero: bool) -> None:
    """``SizeRw`` and ``SizeRootFs``, only when asked for (they walk the writable layer).
    Docker's list leaves out a zero size (``omitempty``); its inspect shows it."""
    for key, value in zip(("SizeRw", "SizeRootFs"), sizes, strict=True):
        if value or not omit_zero:
            doc[key] = value


async def inspect_container(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    if b.containers is None:
        raise NotFound(f"No such container: {request.match_info['id']}")
    doc = await b.run(manager(b).inspect, path_ref(request))
    if query_bool(request, "size"):
        _add_sizes(doc, await b.run(manager(b).sizes, doc["Id"]), omit_zero=False)
    return json_response(doc)


# -------------------------------------------------------------------- lifecycle


async def start(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    m = manager(b)

    def start_unless_running(ref: str) -> Container | None:
        c = m.get(ref)
        if c.state.running and not c.state.paused:  # a paused one: the manager's 409
            return None
        return m.start(c.id)

    # One trip to a worker thread, not two: each costs two thread wake-ups.
    c = await b.run(start_unless_running, path_ref(request))
    if c is None:
        return web.Response(status=304)
    publish(b, c, "start")
    return web.Response(status=204)


async def stop(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    m = manager(b)
    c = await _get(b, path_ref(request))
    if c.state.status not in ("running", "restarting"):
        return web.Response(status=304)
    timeout = _int_query(request, "t")
    signal_name = request.query.get("signal") or None
    publish(b, c, "kill", signal=signal_name or c.stop_signal or "15")
    c = await b.run(m.stop, c.id, timeout, signal_name)
    publish(b, c, "stop")
    return web.Response(status=204)


async def restart(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    m = manager(b)
    c = await _get(b, path_ref(request))
    c = await b.run(m.restart, c.id, _int_query(request, "t"))
    publish(b, c, "restart")
    return web.Response(status=204)


async def kill(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    m = manager(b)
    c = await _get(b, path_ref(request))
    signal_name = request.query.get("signal") or "SIGKILL"
    await b.run(m.kill, c.id, signal_name)
    publish(b, c, "kill", signal=signal_name)
    return web.Response(status=204)


class ClientGone(Exception):
    """The client that was waiting has left: stop polling for it."""


def _gone(request: web.Request) -> bool:
    return request.transport is None or request.transport.is_closing()


class ContainerEvents:
    """A waiting request's view of the event bus: :meth:`next` returns at the next event
    naming the container, or after ``timeout``. Subscribed before the first look at the
    state, so a change between that look and the wait is not missed."""

    def __init__(self, b: Backend, container_id: str) -> None:
        self._bus = b.events
        self._id = container_id
        self._queue = self._bus.subscribe()

    async def next(self, timeout: float = WAIT_FALLBACK) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(deadline):
                while True:
                    event = await self._queue.get()
                    if event.type == "container" and event.actor_id == self._id:
                        return

    def __enter__(self) -> ContainerEvents:
        return self

    def __exit__(self, *exc: object) -> None:
        self._bus.unsubscribe(self._queue)


async def wait_for(b: Backend, c: Container, condition: str,
                   request: web.Request | None = None) -> int:
    """Docker's wait conditions, checked on the loop (no thread per waiting client) at
    each event of the container."""
    with ContainerEvents(b, c.id) as events:
        return await _wait_for(b, c, condition, request, events)


async def _wait_for(b: Backend, c: Container, condition: str, request: web.Request | None,
                    events: ContainerEvents) -> int:
    m = manager(b)
    finished = c.state.finished_at
    last = c
    while True:
        if request is not None and _gone(request):
            raise ClientGone()
        latest = await b.run(_reload, m, c.id)
        if latest is None:  # removed (AutoRemove): the code it died with is remembered
            exits = b.extra.get("exits")
            code = exits.last_exit_code(c.id) if exits is not None else None
            return last.state.exit_code if code is None else int(code)
        last = latest
        status = latest.state.status
        if condition == "not-running" and status in ("created", "exited"):
            return latest.state.exit_code
        if (condition == "next-exit" and latest.state.finished_at != finished
                and status not in ("running", "starting")):
            return latest.state.exit_code
        await events.next()


async def _wait_removed(b: Backend, c: Container, request: web.Request) -> None:
    with ContainerEvents(b, c.id) as events:
        while await b.run(_reload, manager(b), c.id) is not None:
            if _gone(request):
                raise ClientGone()
            await events.next()


async def wait(request: web.Request) -> web.StreamResponse:
    """The headers go out at once (clients send ``wait`` before ``start`` and read the
    answer later, as ``docker run`` does); the body when the condition holds."""
    b = backend(request)
    condition = request.query.get("condition") or "not-running"
    if condition not in ("not-running", "next-exit", "removed"):
        raise InvalidParameter(f'invalid condition "{condition}": use not-running, '
                               "next-exit or removed")
    c = await _get(b, path_ref(request))
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    try:
        if condition == "removed":
            code = await wait_for(b, c, "next-exit" if c.state.status in (
                "running", "starting", "restarting", "created") else "not-running", request)
            await _wait_removed(b, c, request)
        else:
            code = await wait_for(b, c, condition, request)
    except ClientGone:
        return response
    with contextlib.suppress(ConnectionError):
        await response.write(f'{{"StatusCode":{code},"Error":null}}\n'.encode())
        await response.write_eof()
    return response


async def rename(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    name = request.query.get("name", "")
    if not name:
        raise InvalidParameter("Neither old nor new names may be empty")
    c = await _get(b, path_ref(request))
    renamed = await b.run(manager(b).rename, c.id, name)
    publish(b, renamed, "rename", oldName="/" + c.name)
    return web.Response(status=204)


async def remove(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    if query_bool(request, "link"):
        raise NotImplementedKind("removing links is not supported")
    c = await _get(b, path_ref(request))
    force = query_bool(request, "force")
    if force and c.state.running:
        publish(b, c, "kill", signal="9")
    await b.run(manager(b).remove, c.id, force=force, volumes=query_bool(request, "v"))
    b.execs.forget_container(c.id)
    return web.Response(status=204)


async def prune(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    m = manager(b)
    wanted = prune_test(parse_filters(request.query.get("filters"), ("label", "label!", "until")))
    deleted = []
    reclaimed = 0
    for c in await b.run(m.containers):
        if c.state.status in ("created", "exited") and wanted(c.labels, c.created):
            with contextlib.suppress(DockyardError):
                rw, _ = await b.run(m.sizes, c.id)  # Docker reclaims the writable layers
                await b.run(m.remove, c.id)
                deleted.append(c.id)
                reclaimed += rw
    return json_response({"ContainersDeleted": deleted, "SpaceReclaimed": reclaimed})


async def pause(request: web.Request) -> web.StreamResponse:
    """``pause`` and ``unpause``; their events come from the saved state
    (:mod:`dockyard.api.state_events`), as do those of a thaw by stop or kill."""
    b = backend(request)
    m = manager(b)
    c = await _get(b, path_ref(request))
    await b.run(m.unpause if request.path.endswith("/unpause") else m.pause, c.id)
    return web.Response(status=204)


def _refuse_paused_exec(c: Container, ref: str) -> None:
    if c.state.paused:
        raise Conflict(f"Container {ref} is paused, unpause the container before exec")


# --------------------------------------------------------------------- top & logs


def _proc_row(pid: int, cmd: str) -> list[str]:
    uid, ppid = "?", "?"
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                uid = line.split()[1]
            elif line.startswith("PPid:"):
                ppid = line.split()[1]
    return [uid, str(pid), ppid, cmd]


async def top(request: web.Request) -> web.StreamResponse:
    """The host's ``ps`` with ``ps_args`` (``-ef``) over the container's processes, as
    dockerd answers; a short table of our own where ``ps`` is not installed."""
    b = backend(request)
    args = ps.check_args(request.query.get("ps_args") or "-ef")
    rows = await b.run(manager(b).top, path_ref(request))
    if not ps.available():
        return json_response({"Titles": ["UID", "PID", "PPID", "CMD"],
                              "Processes": [_proc_row(pid, cmd) for pid, cmd in rows]})
    pids = [pid for pid, _ in rows]
    titles, processes = ps.parse_table(await b.run(ps.run_ps, args, pids), pids)
    return json_response({"Titles": titles, "Processes": processes})


def _since(value: str | None) -> str | None:
    """A Unix time (``1700000000.5``) as the log's RFC 3339 form, which sorts as text."""
    if not value or value == "0":
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise InvalidParameter(f'invalid value "{value}" for query parameter "since"') from None
    moment = datetime.fromtimestamp(int(seconds), UTC)
    nanos = round((seconds - int(seconds)) * 1e9)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def _tail(value: str | None) -> int | None:
    if value is None or value in ("", "all"):
        return None
    try:
        return max(int(value), 0)
    except ValueError:
        raise InvalidParameter(f'invalid value "{value}" for query parameter "tail"') from None


def _frames(records: list[logfile.LogRecord], timestamps: bool, tty: bool = False) -> bytes:
    out = []
    for r in records:
        data = r.format(timestamps=timestamps).encode()
        out.append(data if tty else frame(STDERR if r.stream == "stderr" else STDOUT, data))
    return b"".join(out)


def _read_fd(fd: int, offset: int) -> tuple[list[logfile.LogRecord], int]:
    """Whole log records from ``offset`` of an open log file, and the next offset."""
    data = b""
    while chunk := os.pread(fd, 1 << 16, offset + len(data)):
        data += chunk
    end = data.rfind(b"\n") + 1
    records = [r for raw in data[:end].decode(errors="replace").splitlines()
               if (r := logfile.parse_line(raw)) is not None]
    return records, offset + end


def _log_path(m: ContainerManager, container_id: str) -> str:
    return os.path.join(m.container_dir(container_id), "json.log")


async def logs(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    m = manager(b)
    stdout, stderr = query_bool(request, "stdout"), query_bool(request, "stderr")
    if not (stdout or stderr):
        raise InvalidParameter("Bad parameters: you must choose at least one stream")
    follow, timestamps = query_bool(request, "follow"), query_bool(request, "timestamps")
    since, tail = _since(request.query.get("since")), _tail(request.query.get("tail"))
    c = await _get(b, path_ref(request))
    path = _log_path(m, c.id)
    records, offset = await b.run(logfile.read_records, path)
    chosen = list(logfile.select(records, stdout=stdout, stderr=stderr, since=since,
                                 tail=tail))
    tty = c.spec.tty  # a terminal's output is one stream: Docker sends it unframed
    response = web.StreamResponse(headers={"Content-Type": RAW if tty else MULTIPLEXED})
    await response.prepare(request)
    # The end of a followed run wakes the loop at once.
    with ContainerEvents(b, c.id) as events, contextlib.suppress(ConnectionError):
        await response.write(_frames(chosen, timestamps, tty))
        while follow and not (request.transport is None or request.transport.is_closing()):
            latest = await b.run(_reload, m, c.id)
            done = latest is None or latest.state.status not in ("running", "starting",
                                                                 "restarting")
            records, offset = await b.run(logfile.read_records, path, offset)
            await response.write(_frames(list(logfile.select(
                records, stdout=stdout, stderr=stderr)), timestamps, tty))
            if done:
                break
            await events.next(POLL * 2)
        await response.write_eof()
    return response


# -------------------------------------------------------------------------- stats


STATS_INTERVAL = 1.0  # seconds between readings, as dockerd's stats collector


def _read_stats(m: ContainerManager, container_id: str
                ) -> tuple[Container, kstats.Sample | None] | None:
    """The container as stored now and a reading of it (None while it does not run);
    None once it is removed."""
    c = _reload(m, container_id)
    if c is None:
        return None
    if c.state.status != RUNNING or not c.state.pid:
        return c, None
    return c, kstats.sample(c.state.pid, c.state.pid_start, memory_limit=c.spec.memory,
                            memory_group=cgroups.memory_path(c.id),
                            networks=c.spec.network_mode != "host")


def _encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n"


async def stats(request: web.Request) -> web.StreamResponse:
    """Docker's ``stream`` (default) sends a reading about every second until the client
    leaves or the container is removed (a stopped one reads as zeros meanwhile, as with
    dockerd); ``stream=0`` answers one reading whose ``precpu_stats`` is filled from one
    taken a second before (so a CPU % can be computed), or with ``one-shot`` at once and
    with no ``precpu_stats``."""
    b = backend(request)
    m = manager(b)
    stream = query_bool(request, "stream", default=True)
    one_shot = query_bool(request, "one-shot")
    c = await _get(b, path_ref(request))
    if stream and one_shot:
        raise InvalidParameter("cannot have stream=true and one-shot=true")
    if stream:
        return await _stats_stream(request, b, c)
    read = await b.run(_read_stats, m, c.id)
    if read is None or read[1] is None or one_shot:  # not running: zeros, at once
        latest, sample = read if read is not None else (c, None)
        return json_response(stats_doc(latest.name, latest.id, sample))
    first = read[1]
    await asyncio.sleep(STATS_INTERVAL)
    read = await b.run(_read_stats, m, c.id)
    latest, sample = read if read is not None else (c, None)
    return json_response(stats_doc(latest.name, latest.id, sample, first))


async def _stats_stream(request: web.Request, b: Backend, c: Container
                        ) -> web.StreamResponse:
    m = manager(b)
    loop = asyncio.get_running_loop()
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    previous: kstats.Sample | None = None
    with contextlib.suppress(ConnectionError):
        while not _gone(request):
            began = loop.time()
            read = await b.run(_read_stats, m, c.id)
            if read is None:
                break
            latest, sample = read
            await response.write(_encode(stats_doc(latest.name, latest.id, sample,
                                                   previous)))
            previous = sample
            await asyncio.sleep(max(0.0, STATS_INTERVAL - (loop.time() - began)))
        await response.write_eof()
    return response


# --------------------------------------------------------------------------- exec


async def exec_create(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    body = await _body(request, required=True)
    cmd = get_str_list(body, "Cmd")
    if not cmd:
        raise InvalidParameter("No exec command specified")
    c = await _get(b, path_ref(request))
    if not c.state.running:
        raise Conflict(f"container {c.id} is not running")
    _refuse_paused_exec(c, path_ref(request))
    workdir = get_str(body, "WorkingDir") or None
    if workdir is not None and not workdir.startswith("/"):
        raise InvalidParameter(f'invalid working directory "{workdir}": must be absolute')
    config = b.execs.add(ExecConfig(
        id="", container_id=c.id, cmd=tuple(cmd), env=tuple(get_str_list(body, "Env")),
        workdir=workdir, user=get_str(body, "User") or None, tty=get_bool(body, "Tty"),
        attach_stdin=get_bool(body, "AttachStdin"),
        attach_stdout=get_bool(body, "AttachStdout", default=True),
        attach_stderr=get_bool(body, "AttachStderr", default=True),
        console_size=console_size(body, "ConsoleSize", "ConsoleSize"),
        detach_keys=detach_keys(get_str(body, "DetachKeys"))))
    publish(b, c, "exec_create: " + " ".join(cmd), execID=config.id)
    return json_response({"Id": config.id}, 201)


def detach_keys(text: str) -> str:
    """An exec's ``DetachKeys``, checked now (Docker refuses bad ones at create)."""
    if text:
        parse_detach_keys(text)
    return text


async def _run_exec(b: Backend, config: ExecConfig) -> tuple[int, bytes, bytes]:
    m = manager(b)
    try:
        result = await b.run(m.exec, config.container_id, config.cmd, env=config.env,
                             workdir=config.workdir, user=config.user)
    except DockyardError as err:
        b.execs.finish(config.id, 126)
        return 126, b"", (err.message + "\n").encode()
    b.execs.finish(config.id, result.exit_code)
    return result.exit_code, result.stdout, result.stderr


async def exec_start(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    body = await _body(request)
    config = b.execs.get(request.match_info["id"])
    c = await _get(b, config.container_id)
    if not c.state.running:
        raise Conflict(f"container {c.id} is not running")
    _refuse_paused_exec(c, c.id)
    config = b.execs.begin(config.id)
    publish(b, c, "exec_start: " + " ".join(config.cmd), execID=config.id)
    if get_bool(body, "Detach"):
        task = asyncio.get_running_loop().create_task(_run_exec(b, config))
        b.extra.setdefault("exec_tasks", set()).add(task)
        task.add_done_callback(b.extra["exec_tasks"].discard)
        return web.Response(status=200)
    tty = get_bool(body, "Tty") or config.tty
    if tty or config.attach_stdin:
        from dockyard.api.routes_attach import exec_stream

        size = console_size(body, "ConsoleSize", "ConsoleSize")
        return await exec_stream(request, b, config, tty, size if any(size)
                                 else config.console_size)
    stream = await hijack(request, tty=tty)
    try:
        _, out, err = await _run_exec(b, config)
        if not config.attach_stdout:
            out = b""
        if not config.attach_stderr:
            err = b""
        await stream.write(out + err if tty else frame(STDOUT, out) + frame(STDERR, err))
    finally:
        await stream.close()
    return stream.response


async def exec_inspect(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    return json_response(b.execs.get(request.match_info["id"]).to_doc())


ROUTES = [
    ("GET", "/containers/json", list_containers),
    ("POST", "/containers/create", create),
    ("POST", "/containers/prune", prune),
    ("GET", "/containers/{id}/json", inspect_container),
    ("GET", "/containers/{id}/top", top),
    ("GET", "/containers/{id}/logs", logs),
    ("GET", "/containers/{id}/stats", stats),
    ("POST", "/containers/{id}/start", start),
    ("POST", "/containers/{id}/stop", stop),
    ("POST", "/containers/{id}/restart", restart),
    ("POST", "/containers/{id}/kill", kill),
    ("POST", "/containers/{id}/wait", wait),
    ("POST", "/containers/{id}/rename", rename),
    ("POST", "/containers/{id}/pause", pause),
    ("POST", "/containers/{id}/unpause", pause),
    ("POST", "/containers/{id}/exec", exec_create),
    ("DELETE", "/containers/{id}", remove),
    ("POST", "/exec/{id}/start", exec_start),
    ("GET", "/exec/{id}/json", exec_inspect),
]
