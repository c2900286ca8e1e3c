"""Docker's container JSON: ``GET /containers/{id}/json`` and ``/containers/json`` items.

The one place in the runtime that knows Docker's field names for containers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dockyard.model.endpoint import Endpoint
from dockyard.model.network import Network
from dockyard.model.sandbox import Sandbox
from dockyard.portmap import parse_expose, to_docker_ports
from dockyard.runtime.container import (
    CREATED,
    RESTARTING,
    RUNNING,
    STARTING,
    Container,
)
from dockyard.runtime.health import Health
from dockyard.runtime.options import parse_restart_policy


@dataclass(frozen=True)
class Attached:
    """A live endpoint of the container, with its network."""

    network: Network
    endpoint: Endpoint


@dataclass(frozen=True)
class Paths:
    log: str = ""
    hosts: str = ""
    hostname: str = ""
    resolv_conf: str = ""
    upper: str = ""
    merged: str = ""


PAUSED = "paused"  # Docker's State.Status of a frozen container (ours stays RUNNING)


def status_of(c: Container) -> str:
    if c.state.status == RUNNING and c.state.paused:
        return PAUSED
    return CREATED if c.state.status == STARTING else c.state.status


def _network_entry(c: Container, attached: Attached | None, aliases: Sequence[str],
                   user_defined: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "IPAMConfig": None, "Links": None, "Aliases": list(aliases) or None, "MacAddress": "",
        "DriverOpts": None, "GwPriority": 0, "NetworkID": "", "EndpointID": "",
        "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": None,
    }
    if attached is None:
        return entry
    network, endpoint = attached.network, attached.endpoint
    entry["NetworkID"] = network.id
    entry["EndpointID"] = endpoint.id
    entry["MacAddress"] = endpoint.mac
    if endpoint.static_ipv4 or endpoint.static_ipv6:
        entry["IPAMConfig"] = {"IPv4Address": endpoint.static_ipv4 or "",
                               "IPv6Address": endpoint.static_ipv6 or ""}
    if endpoint.ipv4:
        address, _, prefix = endpoint.ipv4.partition("/")
        entry["IPAddress"], entry["IPPrefixLen"] = address, int(prefix)
        pool = network.pool_v4()
        entry["Gateway"] = pool.gateway if pool else ""
    if endpoint.ipv6:
        address, _, prefix = endpoint.ipv6.partition("/")
        entry["GlobalIPv6Address"], entry["GlobalIPv6PrefixLen"] = address, int(prefix)
        pool6 = network.pool_v6()
        entry["IPv6Gateway"] = pool6.gateway if pool6 else ""
    if user_defined:
        # Docker's order: the first name is the one a reverse lookup answers with
        entry["DNSNames"] = list(dict.fromkeys(
            n for n in (c.name, *aliases, c.id[:12], c.hostname) if n))
    entry["Links"] = list(endpoint.links) or None
    return entry


def inspect_doc(
    c: Container,
    *,
    attached: Mapping[str, Attached],
    sandbox: Sandbox | None,
    paths: Paths,
    health: Health | None = None,
) -> dict[str, Any]:
    """``attached``: live endpoints by network name (empty while stopped); ``health``:
    the healthcheck's latest (None: no healthcheck, or never started)."""
    state = c.state
    policy = parse_restart_policy(c.spec.restart)
    networks: dict[str, Any] = {}
    for attachment in c.networks:
        live = attached.get(attachment.network)
        user_defined = attachment.network not in ("bridge", "host", "none")
        networks[attachment.network] = _network_entry(c, live, attachment.aliases, user_defined)
        networks[attachment.network]["GwPriority"] = attachment.gw_priority
    exposed = [e for spec in c.exposed for e in parse_expose(spec)]
    ports = to_docker_ports(sandbox.ports if sandbox else (), exposed)
    # The legacy top-level fields are the default bridge's endpoint, whichever network the
    # container was made on (dockerd's getDefaultNetworkSettings), and empty off it.
    primary = networks.get("bridge")
    mounts = [{
        "Type": m.type, "Name": m.name or None, "Source": m.source, "Destination": m.target,
        "Driver": "local" if m.type == "volume" else None, "Mode": "" if m.type != "bind"
        else ("ro" if m.read_only else ""), "RW": not m.read_only, "Propagation":
        "rprivate" if m.type == "bind" else "",
    } for m in c.mounts]
    for item in mounts:
        for key in ("Name", "Driver"):
            if item[key] is None:
                del item[key]
    return {
        "Id": c.id,
        "Created": c.created,
        "Path": c.path,
        "Args": list(c.args),
        "State": {
            "Status": status_of(c),
            "Running": state.status in (RUNNING, RESTARTING) and state.pid > 0,
            "Paused": state.paused,
            "Restarting": state.status == RESTARTING,
            "OOMKilled": state.oom_killed,
            "Dead": False,
            "Pid": state.pid,
            "ExitCode": state.exit_code,
            "Error": state.error,
            "StartedAt": state.started_at,
            "FinishedAt": state.finished_at,
            **({"Health": health.to_docker()} if health is not None else {}),
        },
        "Image": c.image_id,
        "ResolvConfPath": paths.resolv_conf,
        "HostnamePath": paths.hostname,
        "HostsPath": paths.hosts,
        "LogPath": paths.log,
        "Name": "/" + c.name,
        "RestartCount": state.restart_count,
        "Driver": "overlay2",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": None,
        "HostConfig": {
            "Binds": list(c.spec.binds) or None,
            "LogConfig": {"Type": "json-file", "Config": {}},
            "NetworkMode": c.spec.network_mode or "bridge",
            "PortBindings": _port_bindings(c.spec.publish),
            "RestartPolicy": {"Name": policy.name,
                              "MaximumRetryCount": policy.maximum_retry_count},
            "AutoRemove": c.spec.auto_remove,
            "Init": c.spec.init,
            "ConsoleSize": list(c.spec.console_size),
            "Dns": list(c.spec.dns),
            "DnsOptions": list(c.spec.dns_options),
            "DnsSearch": list(c.spec.dns_search),
            "ExtraHosts": list(c.spec.extra_hosts) or None,
            "Links": list(c.spec.links) or None,
            "PublishAllPorts": c.spec.publish_all,
            "Memory": c.spec.memory,
            "MemorySwap": c.spec.memory_swap,
            "CapAdd": list(c.spec.cap_add) or None,
            "CapDrop": list(c.spec.cap_drop) or None,
            "GroupAdd": list(c.spec.group_add) or None,
            "ReadonlyRootfs": c.spec.read_only,
            # maps: Go writes their keys sorted
            "Sysctls": dict(sorted(s.partition("=")[::2] for s in c.spec.sysctls)) or None,
            "Tmpfs": dict(sorted(t.partition(":")[::2] for t in c.spec.tmpfs)) or None,
            "Mounts": [{"Type": m.type, "Source": m.source or m.name, "Target": m.target,
                        "ReadOnly": m.read_only} for m in c.mounts] or None,
        },
        "GraphDriver": {"Name": "overlay2",
                        "Data": {"UpperDir": paths.upper, "MergedDir": paths.merged}},
        "Mounts": mounts,
        "Config": config_doc(c),
        "NetworkSettings": {
            "Bridge": "",
            "SandboxID": sandbox.id if sandbox else "",
            "SandboxKey": sandbox.netns if sandbox else "",
            "Ports": ports,
            "EndpointID": primary["EndpointID"] if primary else "",
            "Gateway": primary["Gateway"] if primary else "",
            "IPAddress": primary["IPAddress"] if primary else "",
            "IPPrefixLen": primary["IPPrefixLen"] if primary else 0,
            "MacAddress": primary["MacAddress"] if primary else "",
            "GlobalIPv6Address": primary["GlobalIPv6Address"] if primary else "",
            "GlobalIPv6PrefixLen": primary["GlobalIPv6PrefixLen"] if primary else 0,
            "IPv6Gateway": primary["IPv6Gateway"] if primary else "",
            "Networks": networks,
        },
    }


def config_doc(c: Container) -> dict[str, Any]:
    """The container's run config (``Config`` in inspect), as Docker shapes it; also what
    ``docker commit`` makes the new image's config from."""
    return {
        "Hostname": c.hostname,
        "Domainname": c.domainname,
        "User": c.user,
        "AttachStdin": c.spec.attach_stdin,
        "AttachStdout": c.spec.attach_stdout,
        "AttachStderr": c.spec.attach_stderr,
        "ExposedPorts": {p: {} for p in c.exposed} or None,
        "Tty": c.spec.tty,
        "OpenStdin": c.spec.open_stdin,
        "StdinOnce": c.spec.stdin_once,
        "Env": list(c.env),
        "Cmd": list(c.cmd) if c.cmd is not None else None,
        "Image": c.image_ref,
        "Volumes": {path: {} for path in c.spec.volumes} or None,
        "WorkingDir": c.workdir,
        "Entrypoint": list(c.entrypoint) if c.entrypoint is not None else None,
        "OnBuild": None,
        "Labels": dict(c.labels),
        **({"StopSignal": c.stop_signal} if c.stop_signal else {}),
        **({"StopTimeout": c.stop_timeout} if c.stop_timeout is not None else {}),
        **({"Healthcheck": c.healthcheck.to_docker()} if c.healthcheck is not None
           else {}),
    }


def _port_bindings(publish: Sequence[str]) -> dict[str, list[dict[str, str]]]:
    from dockyard.portmap import parse_publish

    out: dict[str, list[dict[str, str]]] = {}
    for spec in publish:
        for port in parse_publish(spec):
            host = "" if not port.host_port_start else (
                str(port.host_port_start) if port.host_port_end in (0, port.host_port_start)
                else f"{port.host_port_start}-{port.host_port_end}")
            out.setdefault(port.key, []).append({"HostIp": port.host_ip or "",
                                                 "HostPort": host})
    return out


def list_item(c: Container, inspected: Mapping[str, Any]) -> dict[str, Any]:
    """An item of ``GET /containers/json``."""
    ports = []
    for key, bindings in (inspected["NetworkSettings"]["Ports"] or {}).items():
        number, _, proto = key.partition("/")
        for b in bindings or [{}]:
            item: dict[str, Any] = {"PrivatePort": int(number), "Type": proto}
            if b:
                item.update({"IP": b["HostIp"], "PublicPort": int(b["HostPort"])})
            ports.append(item)
    return {
        "Id": c.id,
        "Names": ["/" + c.name],
        "Image": c.image_ref,
        "ImageID": c.image_id,
        "Command": " ".join(c.argv),
        "Created": inspected["Created"],
        "Ports": ports,
        "Labels": dict(c.labels),
        "State": inspected["State"]["Status"],
        "Status": inspected["State"]["Status"],
        "HostConfig": {"NetworkMode": inspected["HostConfig"]["NetworkMode"]},
        "NetworkSettings": {"Networks": inspected["NetworkSettings"]["Networks"]},
        "Mounts": inspected["Mounts"],
    }
