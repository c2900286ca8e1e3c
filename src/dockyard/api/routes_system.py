"""``/_ping``, ``/version``, ``/info``, ``/events``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import socket
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from dockyard import __version__
from dockyard.api import API_VERSION, MIN_API_VERSION
from dockyard.api.app import backend, json_response
from dockyard.api.events import EVENT_FILTERS, Event, matches
from dockyard.api.filters import parse_filters
from dockyard.api.timeparse import parse_time_or_duration
from dockyard.kernel import cgroups


async def ping(request: web.Request) -> web.StreamResponse:
    return web.Response(text="OK", headers={
        "Api-Version": API_VERSION, "Ostype": "linux", "Docker-Experimental": "false",
        "Builder-Version": "1", "Cache-Control": "no-cache, no-store, must-revalidate",
        "Pragma": "no-cache", "Swarm": "inactive"})


def _kernel() -> str:
    return platform.release()


def _arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


async def version(request: web.Request) -> web.StreamResponse:
    details = {"ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
               "Os": "linux", "Arch": _arch(), "KernelVersion": _kernel(),
               "GitCommit": "", "GoVersion": "python" + platform.python_version(),
               "Experimental": "false", "BuildTime": ""}
    return json_response({
        "Platform": {"Name": "Dockyard"},
        "Components": [{"Name": "Engine", "Version": __version__, "Details": details}],
        "Version": __version__,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "python" + platform.python_version(),
        "Os": "linux",
        "Arch": _arch(),
        "KernelVersion": _kernel(),
        "BuildTime": "",
    })


def _mem_total() -> int:
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def _os_name() -> str:
    with contextlib.suppress(OSError), open("/etc/os-release") as f:
        for line in f:
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    return "Linux"


async def info(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    images = await b.run(b.images.images)
    containers = await b.run(_container_counts, b)
    return json_response({
        "ID": b.engine.engine_id(),
        "Containers": containers[0],
        "ContainersRunning": containers[1],
        "ContainersPaused": containers[2],
        "ContainersStopped": containers[0] - containers[1] - containers[2],
        "Images": len(images),
        "Driver": "overlayfs",
        "DriverStatus": [],
        "Plugins": {"Volume": ["local"],
                    "Network": ["bridge", "host", "macvlan", "null", "overlay"],
                    "Authorization": None, "Log": ["json-file"]},
        "MemoryLimit": cgroups.available(cgroups.MEMORY_ROOT),
        "SwapLimit": cgroups.swap_limits(),
        "CpuCfsPeriod": True,
        "CpuCfsQuota": True,
        "CPUShares": True,
        "CPUSet": True,
        "PidsLimit": True,
        "IPv4Forwarding": True,
        "Debug": False,
        "NFd": len(os.listdir("/proc/self/fd")),
        "OomKillDisable": False,
        "NGoroutines": 0,
        "SystemTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": "2",
        "NEventsListener": b.events.listeners,
        "KernelVersion": _kernel(),
        "OperatingSystem": _os_name(),
        "OSVersion": "",
        "OSType": "linux",
        "Architecture": platform.machine(),
        "IndexServerAddress": "",
        "RegistryConfig": {"IndexConfigs": {}, "InsecureRegistryCIDRs": [], "Mirrors": []},
        "NCPU": os.cpu_count() or 1,
        "MemTotal": _mem_total(),
        "GenericResources": None,
        "DockerRootDir": b.root,
        "HttpProxy": "",
        "HttpsProxy": "",
        "NoProxy": "",
        "Name": socket.gethostname(),
        "Labels": [],
        "ExperimentalBuild": False,
        "ServerVersion": __version__,
        "Runtimes": {"dyrun": {"path": "dyrun"}, "runc": {"path": "runc"}},
        "DefaultRuntime": b.containers.runtime.name if b.containers is not None else "dyrun",
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive",
                  "ControlAvailable": False, "Error": "", "RemoteManagers": None},
        "LiveRestoreEnabled": b.live_restore,
        "Isolation": "",
        "InitBinary": "dyinit",
        "ContainerdCommit": {"ID": ""},
        "RuncCommit": {"ID": ""},
        "InitCommit": {"ID": ""},
        "SecurityOptions": [],
        "DefaultAddressPools": [{"Base": "172.17.0.0/16", "Size": 16},
                                {"Base": "172.18.0.0/16", "Size": 16}],
        "Warnings": None,
    })


def _container_counts(b: Any) -> tuple[int, int, int]:
    """(all, running, paused), Docker's way: a paused container counts as paused only."""
    manager = b.containers
    if manager is None:
        return 0, 0, 0
    every = manager.containers()
    running = [c for c in every if c.state.status == "running"]
    paused = sum(1 for c in running if c.state.paused)
    return len(every), len(running) - paused, paused


async def events(request: web.Request) -> web.StreamResponse:
    """Past events from ``since`` on, then live ones until ``until`` or the client leaves."""
    b = backend(request)
    filters = parse_filters(request.query.get("filters"), EVENT_FILTERS)
    now = datetime.now(UTC)
    since_raw, until_raw = request.query.get("since"), request.query.get("until")
    since = parse_time_or_duration(since_raw, now, "since") if since_raw else None
    until = parse_time_or_duration(until_raw, now, "until") if until_raw else None
    queue = b.events.subscribe()  # before reading history: nothing falls in between
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    try:
        last = 0
        if since is not None:
            for event in list(b.events.history):
                if _in_window(event, since, until) and matches(event, filters):
                    await _send(response, event)
                    last = event.time_nano
        deadline = until.timestamp() if until else None
        while not _client_gone(request):
            timeout = 1.0 if deadline is None else min(1.0, deadline - time.time())
            if timeout <= 0:
                break
            try:
                event = await asyncio.wait_for(queue.get(), timeout)
            except TimeoutError:
                continue  # wake up now and then to notice a client that left
            if event.time_nano <= last:
                continue  # already sent from the history
            if until is not None and event.time_nano > until.timestamp() * 1e9:
                break
            if matches(event, filters):
                await _send(response, event)
        else:
            return response
    except ConnectionResetError:
        return response
    finally:
        b.events.unsubscribe(queue)
    with contextlib.suppress(ConnectionResetError):
        await response.write_eof()
    return response


def _client_gone(request: web.Request) -> bool:
    return request.transport is None or request.transport.is_closing()


def _in_window(event: Event, since: datetime, until: datetime | None) -> bool:
    t = event.time_nano / 1e9
    return t >= since.timestamp() and (until is None or t <= until.timestamp())


async def _send(response: web.StreamResponse, event: Event) -> None:
    await response.write(json.dumps(event.to_doc(), separators=(",", ":")).encode() + b"\n")


ROUTES = [
    ("GET", "/_ping", ping),
    ("GET", "/version", version),
    ("GET", "/info", info),
    ("GET", "/events", events),
]
