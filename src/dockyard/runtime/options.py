"""Parsing and checking what a user asks of a container (pure).

Docker's rules: container names ``/?[a-zA-Z0-9][a-zA-Z0-9_.-]+``; restart policies
``no|always|unless-stopped|on-failure[:N]``; ``-v`` as ``/host:/ctr[:ro|rw]``,
``name:/ctr[:opts]`` or a lone ``/ctr`` (anonymous volume); ``--mount`` as
``type=bind|volume|tmpfs,source=…,target=…[,readonly]``; network modes ``bridge``,
``host``, ``none``, ``container:<name|id>`` or a network's name.
"""

from __future__ import annotations

import posixpath
import re
import signal
from dataclasses import dataclass

from dockyard.errors import InvalidParameter

_NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_VOLUME_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


def validate_container_name(name: str) -> str:
    """The name without Docker's leading slash."""
    if not _NAME_RE.match(name):
        raise InvalidParameter(
            f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    return name.removeprefix("/")


def validate_volume_name(name: str) -> str:
    if not _VOLUME_NAME_RE.match(name):
        raise InvalidParameter(
            f'invalid volume name "{name}": only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed; '
            "if you intended to pass a host directory, use absolute path")
    return name


@dataclass(frozen=True)
class RestartPolicy:
    name: str = "no"  # "no" | "always" | "unless-stopped" | "on-failure"
    maximum_retry_count: int = 0


def parse_restart_policy(text: str) -> RestartPolicy:
    name, sep, count = (text or "no").partition(":")
    if name in ("no", "always", "unless-stopped"):
        if sep:
            raise InvalidParameter(
                f'invalid restart policy "{text}": maximum retry count can only be used with '
                "on-failure")
        return RestartPolicy(name)
    if name == "on-failure":
        if not sep:
            return RestartPolicy(name)
        if not count.isdigit():
            raise InvalidParameter(
                f'invalid restart policy "{text}": maximum retry count must be a number')
        return RestartPolicy(name, int(count))
    raise InvalidParameter(f'invalid restart policy "{text}": use no, always, '
                           "unless-stopped or on-failure[:max-retries]")


@dataclass(frozen=True)
class MountRequest:
    """One mount as asked for. ``type``: bind | volume | tmpfs. A volume with an empty
    ``source`` is anonymous (a name is made up when the container is created)."""

    type: str
    target: str
    source: str = ""
    read_only: bool = False
    # -v creates a missing host directory; --mount type=bind refuses it, as Docker does.
    create_host_path: bool = False


def _check_target(spec: str, target: str) -> str:
    if not target.startswith("/"):
        raise InvalidParameter(
            f'invalid mount config "{spec}": mount path "{target}" must be absolute')
    normal = posixpath.normpath(target)
    if normal == "/":
        raise InvalidParameter(f'invalid mount config "{spec}": destination can\'t be "/"')
    return normal


def parse_bind_spec(spec: str) -> MountRequest:
    """A ``-v``/``--volume`` value."""
    parts = spec.split(":")
    if not spec or len(parts) > 3 or any(p == "" for p in parts):
        raise InvalidParameter(f'invalid volume specification: "{spec}"')
    if len(parts) == 1:
        return MountRequest("volume", _check_target(spec, parts[0]))
    mode = parts[2] if len(parts) == 3 else ""
    read_only = False
    for option in filter(None, mode.split(",")):
        if option == "ro":
            read_only = True
        elif option in ("rw", "z", "Z", "nocopy", "private", "rprivate"):
            continue
        else:
            raise InvalidParameter(f'invalid mode "{option}" in volume specification "{spec}"')
    source, target = parts[0], _check_target(spec, parts[1])
    if source.startswith("/"):
        return MountRequest("bind", target, posixpath.normpath(source), read_only,
                            create_host_path=True)
    if source.startswith("."):
        raise InvalidParameter(
            f'invalid volume specification "{spec}": host path "{source}" must be absolute')
    return MountRequest("volume", target, validate_volume_name(source), read_only)


def parse_mount_spec(spec: str) -> MountRequest:
    """A ``--mount`` value: comma-separated ``key=value`` fields."""
    fields: dict[str, str] = {}
    read_only = False
    for item in spec.split(","):
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if key in ("readonly", "ro") and (not sep or value in ("1", "true")):
            read_only = True
            continue
        if key in ("readonly", "ro") and value in ("0", "false"):
            continue
        if not sep:
            raise InvalidParameter(f'invalid field "{item}" in mount "{spec}": must be key=value')
        fields[{"src": "source", "dst": "target", "destination": "target"}.get(key, key)] = value
    kind = fields.pop("type", "volume")
    target = fields.pop("target", "")
    source = fields.pop("source", "")
    fields.pop("bind-propagation", None)
    fields.pop("volume-nocopy", None)
    if fields:
        raise InvalidParameter(f'invalid mount "{spec}": unknown field "{next(iter(fields))}"')
    if not target:
        raise InvalidParameter(f'invalid mount "{spec}": target is required')
    target = _check_target(spec, target)
    if kind == "bind":
        if not source.startswith("/"):
            raise InvalidParameter(
                f'invalid mount "{spec}": bind source "{source}" must be an absolute path')
        return MountRequest("bind", target, posixpath.normpath(source), read_only)
    if kind == "volume":
        return MountRequest("volume", target, validate_volume_name(source) if source else "",
                            read_only)
    if kind == "tmpfs":
        if source:
            raise InvalidParameter(f'invalid mount "{spec}": tmpfs takes no source')
        return MountRequest("tmpfs", target, "", read_only)
    raise InvalidParameter(f'invalid mount "{spec}": unknown type "{kind}"')


@dataclass(frozen=True)
class NetworkMode:
    kind: str  # "bridge" | "host" | "none" | "container" | "network"
    target: str = ""  # the network name (bridge/network) or the container (container)


def parse_network_mode(text: str) -> NetworkMode:
    text = text or "bridge"
    if text in ("bridge", "default"):
        return NetworkMode("network", "bridge")
    if text == "host":
        return NetworkMode("host", "host")
    if text == "none":
        return NetworkMode("none", "none")
    if text.startswith("container:"):
        target = text.removeprefix("container:")
        if not target:
            raise InvalidParameter(f'invalid network mode "{text}": no container given')
        return NetworkMode("container", target)
    return NetworkMode("network", text)


def parse_signal(text: str) -> int:
    """``SIGTERM``, ``TERM``, ``15`` → 15."""
    value = text.strip().upper()
    if value.isdigit():
        number = int(value)
        if 0 < number < 65:
            return number
    else:
        name = value if value.startswith("SIG") else "SIG" + value
        member = getattr(signal.Signals, name, None) if name.isidentifier() else None
        if isinstance(member, signal.Signals):
            return int(member)
    raise InvalidParameter(f'invalid signal "{text}"')


MIN_MEMORY = 6 * 1024 * 1024  # Docker's floor for a memory limit


def check_memory(memory: int, memory_swap: int) -> int:
    """Docker's checks of ``-m``/``--memory-swap`` (bytes; 0: not set); returns the
    memory+swap limit to apply: twice the memory when not given, as Docker sets it."""
    if memory != 0 and memory < MIN_MEMORY:
        raise InvalidParameter("Minimum memory limit allowed is 6MB")
    if memory_swap < -1:
        raise InvalidParameter(f'invalid memory swap limit "{memory_swap}": use -1 for '
                               "unlimited swap")
    if memory > 0 and 0 < memory_swap < memory:
        raise InvalidParameter("Minimum memoryswap limit should be larger than memory limit, "
                               "see usage")
    if memory == 0 and memory_swap > 0:
        raise InvalidParameter("You should always set the Memory limit when using Memoryswap "
                               "limit, see usage")
    if memory > 0 and memory_swap == 0:
        return memory * 2
    return memory_swap


def updated_memory(current: int, current_swap: int, memory: int, memory_swap: int
                   ) -> tuple[int, int]:
    """``docker update -m/--memory-swap`` over a container's (memory, memory+swap) limits:
    0 leaves a value as it is. A new memory limit keeps the memory+swap limit set before
    if it still fits under it, and is refused if not, as Docker refuses it."""
    memory = memory or current
    if memory_swap == 0 and current_swap != 0:
        if current_swap != -1 and memory > current_swap:
            raise InvalidParameter("Memory limit should be smaller than already set "
                                   "memoryswap limit, update the memoryswap at the same time")
        memory_swap = current_swap
    return memory, check_memory(memory, memory_swap)


def effective_capabilities(add: tuple[str, ...], drop: tuple[str, ...],
                           default: tuple[str, ...]) -> tuple[str, ...]:
    """The capabilities a container's process keeps, as Docker computes them from
    ``--cap-add``/``--cap-drop``: names with or without ``CAP_``, any case; ``ALL`` in
    ``drop`` starts from none, ``ALL`` in ``add`` from every capability."""
    from dockyard.kernel.lean import CAPABILITIES  # the kernel's names, by number

    known = tuple(f"CAP_{name}" for name in CAPABILITIES)

    def normalize(names: tuple[str, ...]) -> list[str]:
        out = []
        for name in names:
            upper = name.strip().upper()
            if upper == "ALL":
                out.append(upper)
                continue
            full = upper if upper.startswith("CAP_") else f"CAP_{upper}"
            if full not in known:
                raise InvalidParameter(f'unknown capability: "{full}"')
            out.append(full)
        return out

    adds, drops = normalize(add), normalize(drop)
    if "ALL" in adds:
        base = set(known)
    elif "ALL" in drops:
        base = set()
    else:
        base = set(default)
    if "ALL" not in drops:
        base -= set(drops)
    base |= {name for name in adds if name != "ALL"}
    return tuple(name for name in known if name in base)


# Docker lets a container set the sysctls of its own namespaces: its network namespace's
# (net.*, written into the sandbox's before the start) and its IPC namespace's (written by
# the runtime inside the container, as runc does).
IPC_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
               "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced")


def check_sysctls(items: tuple[str, ...], network_mode: str) -> dict[str, str]:
    """``--sysctl KEY=VALUE`` values as a mapping, refused unless each key is one of the
    container's own network or IPC namespace."""
    wanted: dict[str, str] = {}
    mode = parse_network_mode(network_mode)
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().replace("/", ".")
        if not sep or not key:
            raise InvalidParameter(f'invalid sysctl "{item}": expected KEY=VALUE')
        if key in IPC_SYSCTLS or key.startswith("fs.mqueue."):
            wanted[key] = value
            continue
        if not key.startswith("net."):
            raise InvalidParameter(
                f'sysctl "{key}" is not allowed: only those of the container\'s own network '
                f"and IPC namespaces (net.*, fs.mqueue.*, {', '.join(IPC_SYSCTLS)}) can be set")
        if mode.kind in ("host", "container"):
            raise InvalidParameter(
                f'sysctl "{key}" is not allowed in the network namespace of network mode '
                f"{network_mode}: it is not the container's own")
        wanted[key] = value
    return wanted


_TMPFS_OPTIONS = ("ro", "rw", "noexec", "exec", "nosuid", "suid", "nodev", "dev")


def tmpfs_mount(item: str) -> dict[str, object]:
    """A ``--tmpfs PATH[:OPTIONS]`` value as an OCI mount: Docker's default options
    (nosuid, nodev, noexec) unless the value says otherwise; ``size=`` and ``mode=`` pass
    through; any other option is refused by name."""
    target, _, given = item.partition(":")
    if not target.startswith("/"):
        raise InvalidParameter(f'invalid tmpfs "{item}": mount path "{target}" must be '
                               "absolute")
    options = {"nosuid": "nosuid", "nodev": "nodev", "exec": "noexec"}
    extra = []
    for option in filter(None, given.split(",")):
        name = option.partition("=")[0]
        if name in ("size", "mode", "uid", "gid", "nr_inodes"):
            extra.append(option)
        elif option in _TMPFS_OPTIONS:
            pair = {"ro": "rw", "rw": "rw", "exec": "exec", "noexec": "exec", "suid": "nosuid",
                    "nosuid": "nosuid", "dev": "nodev", "nodev": "nodev"}[option]
            options[pair] = option
        else:
            raise InvalidParameter(f'invalid tmpfs "{item}": unknown option "{option}"')
    return {"destination": posixpath.normpath(target), "type": "tmpfs", "source": "tmpfs",
            "options": [*options.values(), *extra]}
