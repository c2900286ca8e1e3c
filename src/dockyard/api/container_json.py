"""``POST /containers/create`` bodies into a :class:`ContainerSpec`, and the list view (pure).

Docker's body is the container ``Config`` at the top level plus ``HostConfig`` and
``NetworkingConfig``. Fields of the wrong JSON type are refused with a 400 naming the
field (Go's decoder does the same); fields we have no support for are ignored when they
change nothing a program can see (``Init``: every container has an init here).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.api.bodies import (
    Body,
    get_bool,
    get_int,
    get_list,
    get_obj,
    get_str,
    get_str_list,
    get_str_map,
)
from dockyard.api.filters import Filters, match_labels
from dockyard.api.timeparse import parse_stored_time
from dockyard.errors import InvalidParameter
from dockyard.humanize import human_duration
from dockyard.runtime.container import ContainerSpec
from dockyard.runtime.health import NO_HEALTHCHECK, HealthConfig

LIST_FILTERS = ("name", "id", "label", "status", "network", "ancestor", "exited", "before",
                "since", "volume", "health", "is-task", "publish", "expose")
STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


@dataclass(frozen=True)
class ExtraNetwork:
    """An ``EndpointsConfig`` entry beyond the one ``NetworkMode`` names: connected right
    after the create, as dockerd does for API ≥ 1.44."""

    network: str
    aliases: tuple[str, ...] = ()
    ipv4: str | None = None
    ipv6: str | None = None
    mac: str | None = None
    gw_priority: int = 0


@dataclass(frozen=True)
class CreateRequest:
    spec: ContainerSpec
    extra_networks: tuple[ExtraNetwork, ...] = field(default_factory=tuple)
    warnings: tuple[str, ...] = ()


def _strslice(body: Body, key: str) -> tuple[str, ...] | None:
    """Docker's ``StrSlice``: a list of strings, or one string as a one-element list."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(get_str_list(body, key))


def _publish(bindings: Body) -> list[str]:
    """``PortBindings`` back into ``-p`` values the runtime parses."""
    out = []
    for key, entries in bindings.items():
        if entries is None:
            entries = [{}]
        if not isinstance(entries, list):
            raise InvalidParameter(f'invalid JSON: field "HostConfig.PortBindings.{key}" must '
                                   "be an array")
        for entry in entries or [{}]:
            if not isinstance(entry, dict):
                raise InvalidParameter(f'invalid JSON: field "HostConfig.PortBindings.{key}" '
                                       "must hold objects")
            ip = get_str(entry, "HostIp", f"HostConfig.PortBindings.{key}.HostIp")
            port = get_str(entry, "HostPort", f"HostConfig.PortBindings.{key}.HostPort")
            if ":" in ip and not ip.startswith("["):
                ip = f"[{ip}]"
            out.append(f"{ip}:{port}:{key}")
    return out


def _mount(index: int, doc: Any) -> str:
    """A ``HostConfig.Mounts`` entry as a ``--mount`` value."""
    where = f"HostConfig.Mounts[{index}]"
    if not isinstance(doc, dict):
        raise InvalidParameter(f'invalid JSON: field "{where}" must be an object')
    kind = get_str(doc, "Type", f"{where}.Type") or "volume"
    target = get_str(doc, "Target", f"{where}.Target")
    source = get_str(doc, "Source", f"{where}.Source")
    for text in (kind, target, source):
        if "," in text:
            raise InvalidParameter(f'invalid mount {where}: "{text}" contains a comma')
    parts = [f"type={kind}", f"target={target}"]
    if source:
        parts.append(f"source={source}")
    if get_bool(doc, "ReadOnly", f"{where}.ReadOnly"):
        parts.append("readonly")
    return ",".join(parts)


def restart_policy(host: Body) -> str:
    policy = get_obj(host, "RestartPolicy", "HostConfig.RestartPolicy")
    name = get_str(policy, "Name", "HostConfig.RestartPolicy.Name") or "no"
    count = get_int(policy, "MaximumRetryCount", "HostConfig.RestartPolicy.MaximumRetryCount")
    if name == "on-failure" and count:
        return f"on-failure:{count}"
    if count and name != "on-failure":
        raise InvalidParameter(f'invalid restart policy "{name}": maximum retry count can only '
                               "be used with on-failure")
    return name


def _link(text: str) -> str:
    """The API's ``/db:/web/db`` form (and the CLI's ``db:db``) as ``db:db``."""
    name, sep, alias = text.partition(":")
    name = name.removeprefix("/")
    alias = alias.rsplit("/", 1)[-1] if sep else name
    return f"{name}:{alias}"


def _endpoint(name: str, doc: Any) -> ExtraNetwork:
    where = f"NetworkingConfig.EndpointsConfig.{name}"
    if doc is None:
        return ExtraNetwork(name)
    if not isinstance(doc, dict):
        raise InvalidParameter(f'invalid JSON: field "{where}" must be an object')
    ipam = get_obj(doc, "IPAMConfig", f"{where}.IPAMConfig")
    ipv4 = get_str(ipam, "IPv4Address", f"{where}.IPAMConfig.IPv4Address") or None
    ipv6 = get_str(ipam, "IPv6Address", f"{where}.IPAMConfig.IPv6Address") or None
    mac = get_str(doc, "MacAddress", f"{where}.MacAddress") or None
    return ExtraNetwork(name, tuple(get_str_list(doc, "Aliases", f"{where}.Aliases")), ipv4,
                        ipv6, mac, get_int(doc, "GwPriority", f"{where}.GwPriority"))


def _healthcheck(body: Body) -> HealthConfig | None:
    """``Config.Healthcheck``; None (absent or null) inherits the image's."""
    if body.get("Healthcheck") is None:
        return None
    return HealthConfig.from_docker(get_obj(body, "Healthcheck"))


def console_size(body: Body, key: str, field: str) -> tuple[int, int]:
    """Docker's ``ConsoleSize``: ``[height, width]`` of a terminal, null for none."""
    value = get_list(body, key, field)
    if not value:
        return 0, 0
    if (len(value) != 2 or any(isinstance(n, bool) or not isinstance(n, int) or not
                               0 <= n <= 65535 for n in value)):
        raise InvalidParameter(f'invalid JSON: field "{field}" must be [height, width], two '
                               f"integers from 0 to 65535, not {value}")
    return value[0], value[1]


def parse_create(body: Body, name: str | None) -> CreateRequest:
    image = get_str(body, "Image")
    if not image:
        raise InvalidParameter("config cannot be empty in order to create a container: "
                               "Image is required")
    healthcheck = _healthcheck(body)
    host = get_obj(body, "HostConfig")
    networking = get_obj(body, "NetworkingConfig")
    endpoints = get_obj(networking, "EndpointsConfig", "NetworkingConfig.EndpointsConfig")
    given_mode = get_str(host, "NetworkMode", "HostConfig.NetworkMode")
    mode = "bridge" if given_mode in ("", "default") else given_mode
    configs = [_endpoint("bridge" if n == "default" else n, d) for n, d in endpoints.items()]
    primary = next((e for e in configs if e.network == mode), None)
    if primary is None and configs and not given_mode:
        # No NetworkMode but an EndpointsConfig: that network is the container's own.
        primary = configs[0]
        mode = primary.network
    extra = tuple(e for e in configs if e is not primary)
    timeout_value = body.get("StopTimeout")
    stop_timeout = None if timeout_value is None else get_int(body, "StopTimeout")
    links = [_link(x) for x in get_str_list(host, "Links", "HostConfig.Links")]
    mounts = [_mount(i, m) for i, m in enumerate(get_list(host, "Mounts", "HostConfig.Mounts"))]
    spec = ContainerSpec(
        image=image,
        name=name or None,
        cmd=_strslice(body, "Cmd"),
        entrypoint=_strslice(body, "Entrypoint"),
        env=tuple(get_str_list(body, "Env")),
        workdir=get_str(body, "WorkingDir"),
        user=get_str(body, "User"),
        hostname=get_str(body, "Hostname"),
        domainname=get_str(body, "Domainname"),
        labels=get_str_map(body, "Labels"),
        stop_signal=get_str(body, "StopSignal"),
        stop_timeout=stop_timeout,
        expose=tuple(get_obj(body, "ExposedPorts")),
        network_mode=mode,
        publish=tuple(_publish(get_obj(host, "PortBindings", "HostConfig.PortBindings"))),
        publish_all=get_bool(host, "PublishAllPorts", "HostConfig.PublishAllPorts"),
        binds=tuple(get_str_list(host, "Binds", "HostConfig.Binds")),
        mounts=tuple(mounts),
        volumes=tuple(get_obj(body, "Volumes")),
        restart=restart_policy(host),
        auto_remove=get_bool(host, "AutoRemove", "HostConfig.AutoRemove"),
        init=None if host.get("Init") is None else get_bool(host, "Init", "HostConfig.Init"),
        dns=tuple(get_str_list(host, "Dns", "HostConfig.Dns")),
        dns_search=tuple(get_str_list(host, "DnsSearch", "HostConfig.DnsSearch")),
        dns_options=tuple(get_str_list(host, "DnsOptions", "HostConfig.DnsOptions")),
        extra_hosts=tuple(get_str_list(host, "ExtraHosts", "HostConfig.ExtraHosts")),
        links=tuple(links),
        aliases=primary.aliases if primary else (),
        ipv4=primary.ipv4 if primary else None,
        ipv6=primary.ipv6 if primary else None,
        # Config.MacAddress: API < 1.44's place for it (the docker CLI still fills it in)
        mac=(primary.mac if primary else None) or get_str(body, "MacAddress") or None,
        gw_priority=primary.gw_priority if primary else 0,
        healthcheck=healthcheck,
        tty=get_bool(body, "Tty"),
        open_stdin=get_bool(body, "OpenStdin"),
        stdin_once=get_bool(body, "StdinOnce"),
        attach_stdin=get_bool(body, "AttachStdin"),
        attach_stdout=get_bool(body, "AttachStdout"),
        attach_stderr=get_bool(body, "AttachStderr"),
        console_size=console_size(host, "ConsoleSize", "HostConfig.ConsoleSize"),
        memory=get_int(host, "Memory", "HostConfig.Memory"),
        memory_swap=get_int(host, "MemorySwap", "HostConfig.MemorySwap"),
        sysctls=tuple(f"{k}={v}" for k, v in get_str_map(host, "Sysctls",
                                                         "HostConfig.Sysctls").items()),
        tmpfs=tuple(f"{k}:{v}" if v else k for k, v in get_str_map(host, "Tmpfs",
                                                                    "HostConfig.Tmpfs").items()),
        read_only=get_bool(host, "ReadonlyRootfs", "HostConfig.ReadonlyRootfs"),
        group_add=tuple(get_str_list(host, "GroupAdd", "HostConfig.GroupAdd")),
        cap_add=tuple(get_str_list(host, "CapAdd", "HostConfig.CapAdd")),
        cap_drop=tuple(get_str_list(host, "CapDrop", "HostConfig.CapDrop")),
    )
    return CreateRequest(spec, extra, tuple(unapplied_host_config(host)))


# HostConfig fields this daemon applies. Any other one given with a value that asks for
# something is named in the create reply's Warnings (the docker CLI prints each one as
# "WARNING: ..."), as dockerd warns of a resource its kernel lacks, rather than dropped
# without a word.
APPLIED_HOST_CONFIG = frozenset({
    "AutoRemove", "Binds", "CapAdd", "CapDrop", "ConsoleSize", "Dns", "DnsOptions",
    "DnsSearch", "ExtraHosts", "GroupAdd", "Init", "Links", "Memory", "MemorySwap", "Mounts",
    "NetworkMode", "PortBindings", "PublishAllPorts", "ReadonlyRootfs", "RestartPolicy",
    "Sysctls", "Tmpfs",
})
# What the docker CLI sends for a flag not given, beyond nulls, zeros, falses and empties,
# and values that ask for what every container here has anyway.
_ASKS_NOTHING: dict[str, tuple[Any, ...]] = {
    "MemorySwappiness": (-1,), "PidsLimit": (-1,), "Isolation": ("default",),
    "ShmSize": (64 << 20,), "CgroupnsMode": ("private",), "IpcMode": ("private",),
    "PidMode": ("private",), "UTSMode": ("private",),
}


def _empty(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_empty(v) for v in value.values())
    if isinstance(value, list):
        return all(_empty(v) for v in value)
    return value is None or value is False or value == 0 or value == ""


def unapplied_host_config(host: Body) -> list[str]:
    """Warnings for what ``host`` asks that this daemon does not do."""
    warnings = []
    for key, value in sorted(host.items()):
        if key in APPLIED_HOST_CONFIG or _empty(value) or value in _ASKS_NOTHING.get(key, ()):
            continue
        if (key == "LogConfig" and isinstance(value, dict)
                and value.get("Type") in ("", "json-file") and _empty(value.get("Config"))):
            continue
        warnings.append(f"HostConfig.{key} is not applied by this daemon (Dockyard): the "
                        "container runs without it")
    return warnings


# ------------------------------------------------------------------------ list view


def human_status(state: Mapping[str, Any], now: float | None = None) -> str:
    """``Up 5 minutes``, ``Exited (0) 3 seconds ago``, ``Created``, as ``docker ps``."""
    from dockyard.api.timeparse import parse_stored_time as parse

    now = time.time() if now is None else now
    status = state.get("Status", "")
    if status == "paused":
        since = parse(state["StartedAt"]).timestamp()
        return f"Up {human_duration(now - since)} (Paused)"
    if status == "running":
        since = parse(state["StartedAt"]).timestamp()
        up = "Up " + human_duration(now - since)
        health = (state.get("Health") or {}).get("Status")
        if health == "starting":
            return f"{up} (health: starting)"
        return f"{up} ({health})" if health in ("healthy", "unhealthy") else up
    if status == "restarting":
        finished = parse(state["FinishedAt"]).timestamp()
        return f"Restarting ({state.get('ExitCode', 0)}) {human_duration(now - finished)} ago"
    if status == "exited":
        finished = parse(state["FinishedAt"]).timestamp()
        return f"Exited ({state.get('ExitCode', 0)}) {human_duration(now - finished)} ago"
    if status == "removing":
        return "Removal In Progress"
    return "Created"


def list_view(item: Mapping[str, Any], inspected: Mapping[str, Any]) -> dict[str, Any]:
    """The runtime's list item with Docker's types: ``Created`` in Unix seconds, the
    human ``Status`` and ``State`` the word."""
    doc = dict(item)
    doc["Created"] = int(parse_stored_time(str(inspected["Created"])).timestamp())
    doc["State"] = inspected["State"]["Status"]
    doc["Status"] = human_status(inspected["State"])
    return doc


def matches(item: Mapping[str, Any], inspected: Mapping[str, Any], filters: Filters,
            image_ids: Mapping[str, str]) -> bool:
    """Docker's container list filters. ``image_ids`` maps each ``ancestor`` value to
    the image id it names (absent when no such image)."""
    name = item["Names"][0].removeprefix("/")
    if "name" in filters:
        from dockyard.api.filters import match_any

        if not match_any(filters["name"], name) and not match_any(filters["name"], "/" + name):
            return False
    if "id" in filters and not any(item["Id"].startswith(v) for v in filters["id"]):
        return False
    if "label" in filters and not match_labels(filters["label"], item["Labels"]):
        return False
    if "status" in filters:
        for value in filters["status"]:
            if value not in STATUSES:
                raise InvalidParameter(f"invalid filter 'status={value}'")
        if inspected["State"]["Status"] not in filters["status"]:
            return False
    if "exited" in filters and (inspected["State"]["Status"] != "exited" or str(
            inspected["State"]["ExitCode"]) not in filters["exited"]):
        return False
    if "network" in filters:
        networks = inspected["NetworkSettings"]["Networks"] or {}
        ids = {n.get("NetworkID", "") for n in networks.values()}
        if not any(v in networks or any(i and i.startswith(v) for i in ids)
                   for v in filters["network"]):
            return False
    if "ancestor" in filters:
        wanted = {image_ids[v] for v in filters["ancestor"] if v in image_ids}
        if item["ImageID"] not in wanted and item["Image"] not in filters["ancestor"]:
            return False
    if "health" in filters:
        for value in filters["health"]:
            if value not in ("starting", "healthy", "unhealthy", NO_HEALTHCHECK):
                raise InvalidParameter(f"Unrecognised filter value for health: {value}")
        health = (inspected["State"].get("Health") or {}).get("Status", NO_HEALTHCHECK)
        if health not in filters["health"]:
            return False
    if "volume" in filters:
        mounts = inspected.get("Mounts") or []
        if not any(m.get("Name") in filters["volume"] or m.get("Destination")
                   in filters["volume"] for m in mounts):
            return False
    return True
