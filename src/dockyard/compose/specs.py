"""What compose asks the engine for: the API bodies of networks, volumes and containers.

Pure functions of the project: the runner sends these bodies through the API unchanged, and
the reconciler compares the ``config-hash`` label they carry against what is running. The
shapes are the Docker Engine API's (``POST /networks/create``, ``/volumes/create``,
``/containers/create``), so that the same bodies would work against Docker itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from dockyard.compose.model import (
    NETWORK_LABEL,
    NUMBER_LABEL,
    ONEOFF_LABEL,
    PROJECT_LABEL,
    SERVICE_LABEL,
    VOLUME_LABEL,
    Healthcheck,
    NetworkConfig,
    Project,
    Service,
    ServiceNetwork,
    ServiceVolume,
    VolumeConfig,
)
from dockyard.errors import InvalidParameter

CONFIG_HASH_LABEL = "com.docker.compose.config-hash"
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"
CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"
VERSION_LABEL = "com.docker.compose.version"
DEPENDS_LABEL = "com.docker.compose.depends_on"
COMPOSE_VERSION = "2.29.0-dockyard"

# What does not change the container itself, so must not change its hash: how many
# replicas run, in which order services start, which profiles enable it (compose v2
# leaves the same fields out of its service hash).
_UNHASHED = ("replicas", "depends_on", "profiles", "build")


def _plain(value: Any) -> Any:
    """A JSON-able copy of a model value (mappings sorted, tuples as lists)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def config_hash(service: Service) -> str:
    """sha256 of the service's normalised config: equal exactly when the container ``up``
    would create is the same as the one already running."""
    doc = _plain(service)
    for key in _UNHASHED:
        doc.pop(key, None)
    deploy = doc.get("deploy")
    if isinstance(deploy, dict):
        deploy.pop("replicas", None)
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def project_labels(project: Project) -> dict[str, str]:
    return {
        PROJECT_LABEL: project.name,
        WORKING_DIR_LABEL: project.working_dir,
        CONFIG_FILES_LABEL: ",".join(project.compose_files),
        VERSION_LABEL: COMPOSE_VERSION,
    }


def network_body(project: Project, network: NetworkConfig) -> dict[str, Any]:
    """``POST /networks/create`` for a project network (never called for external ones)."""
    ipam: dict[str, Any] = {"Driver": "default", "Config": [], "Options": {}}
    if network.ipam is not None:
        ipam["Driver"] = network.ipam.driver or "default"
        ipam["Options"] = dict(network.ipam.options)
        for pool in network.ipam.config:
            entry: dict[str, Any] = {}
            if pool.subnet:
                entry["Subnet"] = pool.subnet
            if pool.ip_range:
                entry["IPRange"] = pool.ip_range
            if pool.gateway:
                entry["Gateway"] = pool.gateway
            if pool.aux_addresses:
                entry["AuxiliaryAddresses"] = dict(pool.aux_addresses)
            ipam["Config"].append(entry)
    body: dict[str, Any] = {
        "Name": network.name,
        "Driver": network.driver or "bridge",
        "Options": dict(network.driver_opts),
        "IPAM": ipam,
        "Internal": network.internal,
        "Attachable": network.attachable,
        "Labels": {**dict(network.labels), PROJECT_LABEL: project.name,
                   NETWORK_LABEL: network.key, VERSION_LABEL: COMPOSE_VERSION},
    }
    if network.enable_ipv6 is not None:
        body["EnableIPv6"] = network.enable_ipv6
    if network.enable_ipv4 is not None:
        body["EnableIPv4"] = network.enable_ipv4
    return body


def volume_body(project: Project, volume: VolumeConfig) -> dict[str, Any]:
    return {
        "Name": volume.name,
        "Driver": volume.driver or "local",
        "DriverOpts": dict(volume.driver_opts),
        "Labels": {**dict(volume.labels), PROJECT_LABEL: project.name,
                   VOLUME_LABEL: volume.key, VERSION_LABEL: COMPOSE_VERSION},
    }


def ordered_networks(service: Service) -> tuple[ServiceNetwork, ...]:
    """Connect order: highest ``priority`` first, then by key (compose's order)."""
    return tuple(sorted(service.networks, key=lambda n: (-n.priority, n.network)))


def _port_key(spec: str) -> str:
    port, _, proto = spec.partition("/")
    return f"{port}/{proto or 'tcp'}"


def _expanded_ports(spec: str) -> list[str]:
    """``"3000-3002/udp"`` → ``["3000/udp", "3001/udp", "3002/udp"]``."""
    port, _, proto = spec.partition("/")
    low, sep, high = port.partition("-")
    try:
        first = int(low)
        last = int(high) if sep else first
    except ValueError:
        raise InvalidParameter(f'invalid expose "{spec}": not a port or a range') from None
    return [_port_key(f"{p}/{proto}" if proto else str(p)) for p in range(first, last + 1)]


def port_settings(service: Service) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
    """``ExposedPorts`` and ``HostConfig.PortBindings``; a published range ``8000-8002``
    for one target asks the engine to pick one of them, as Docker does."""
    exposed: dict[str, Any] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for spec in service.expose:
        for key in _expanded_ports(spec):
            exposed[key] = {}
    for port in service.ports:
        key = f"{port.target}/{port.protocol}"
        exposed[key] = {}
        bindings.setdefault(key, []).append(
            {"HostIp": port.host_ip or "", "HostPort": port.published or ""})
    return exposed, bindings


def _mount(project: Project, volume: ServiceVolume) -> dict[str, Any]:
    mount: dict[str, Any] = {"Type": volume.type, "Target": volume.target}
    if volume.read_only:
        mount["ReadOnly"] = True
    if volume.type == "volume":
        if volume.source:
            declared = project.volumes.get(volume.source)
            mount["Source"] = declared.name if declared else volume.source
        options: dict[str, Any] = {}
        if volume.nocopy:
            options["NoCopy"] = True
        if volume.subpath:
            options["Subpath"] = volume.subpath
        if options:
            mount["VolumeOptions"] = options
    elif volume.type == "bind":
        mount["Source"] = volume.source
        bind: dict[str, Any] = {}
        if volume.propagation:
            bind["Propagation"] = volume.propagation
        if volume.create_host_path:
            bind["CreateMountpoint"] = True
        if bind:
            mount["BindOptions"] = bind
    elif volume.type == "tmpfs":
        tmpfs: dict[str, Any] = {}
        if volume.tmpfs_size is not None:
            tmpfs["SizeBytes"] = volume.tmpfs_size
        if volume.tmpfs_mode is not None:
            tmpfs["Mode"] = volume.tmpfs_mode
        if tmpfs:
            mount["TmpfsOptions"] = tmpfs
    else:
        raise InvalidParameter(
            f'service "{volume.target}": volume type "{volume.type}" is not supported')
    return mount


def _healthcheck(check: Healthcheck) -> dict[str, Any]:
    doc: dict[str, Any] = {"Test": list(check.test)}
    for key, value in (("Interval", check.interval_ns), ("Timeout", check.timeout_ns),
                       ("StartPeriod", check.start_period_ns),
                       ("StartInterval", check.start_interval_ns),
                       ("Retries", check.retries)):
        if value is not None:
            doc[key] = value
    return doc


def restart_policy(value: str | None) -> dict[str, Any]:
    """``on-failure:3`` → ``{"Name": "on-failure", "MaximumRetryCount": 3}``."""
    if not value:
        return {"Name": "no"}
    name, _, count = value.partition(":")
    if name not in ("no", "always", "on-failure", "unless-stopped"):
        raise InvalidParameter(f'invalid restart policy "{value}"')
    policy: dict[str, Any] = {"Name": name}
    if count:
        try:
            policy["MaximumRetryCount"] = int(count)
        except ValueError:
            raise InvalidParameter(f'invalid restart policy "{value}": bad count') from None
    return policy


# Keys kept in ``Service.extras`` that map one to one onto the API.
_EXTRA_HOST_CONFIG = {"cap_add": "CapAdd", "cap_drop": "CapDrop", "privileged": "Privileged",
                      "init": "Init", "read_only": "ReadonlyRootfs", "sysctls": "Sysctls",
                      "pid": "PidMode", "ipc": "IpcMode", "shm_size": "ShmSize",
                      "group_add": "GroupAdd", "security_opt": "SecurityOpt"}
_EXTRA_CONFIG = {"tty": "Tty", "stdin_open": "OpenStdin", "mac_address": "MacAddress"}


def _sysctls(value: Any) -> dict[str, str]:
    """compose's ``sysctls``, a mapping or a list of ``KEY=VALUE``, as the API's map of
    strings (YAML gives numbers as numbers)."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {k: v for k, _, v in (str(item).partition("=") for item in value)}


@dataclasses.dataclass(frozen=True)
class ContainerRequest:
    """One ``POST /containers/create``: the name and the body."""

    name: str
    body: Mapping[str, Any]


def container_labels(project: Project, service: Service, number: int, *,
                     oneoff: bool = False) -> dict[str, str]:
    labels = {**dict(service.labels), **project_labels(project)}
    labels.update({
        SERVICE_LABEL: service.name,
        NUMBER_LABEL: str(number),
        ONEOFF_LABEL: "True" if oneoff else "False",
        CONFIG_HASH_LABEL: config_hash(service),
        DEPENDS_LABEL: ",".join(f"{d.service}:{d.condition}:{str(d.restart).lower()}"
                                for d in service.depends_on),
    })
    return labels


def container_request(
    project: Project, service: Service, number: int, *,
    network_mode: str | None = None, links: tuple[str, ...] = (),
    name: str | None = None, oneoff: bool = False,
    command: tuple[str, ...] | None = None, extra_env: Mapping[str, str] | None = None,
) -> ContainerRequest:
    """The create request for replica ``number`` of ``service``.

    ``network_mode`` is the engine's mode already resolved by the runner when it names
    another container (``service:db`` becomes ``container:<id>``); ``links`` are
    ``container:alias`` pairs likewise resolved. Everything else comes from the model.
    """
    if service.image is None:
        raise InvalidParameter(f'service "{service.name}" has neither an image nor a build')
    container_name = name or service.container_name_for(project.name, number)
    env = {k: v for k, v in service.environment.items() if v is not None}
    env.update(extra_env or {})
    exposed, bindings = port_settings(service)
    config: dict[str, Any] = {
        "Image": service.image,
        "Env": [f"{k}={v}" for k, v in env.items()],
        "Labels": container_labels(project, service, number, oneoff=oneoff),
        "ExposedPorts": exposed,
        "Hostname": service.hostname or "",
        "Domainname": service.domainname or "",
        "WorkingDir": service.working_dir or "",
        "User": service.user or "",
    }
    cmd = command if command is not None else service.command
    if cmd is not None:
        config["Cmd"] = list(cmd)
    if service.entrypoint is not None:
        config["Entrypoint"] = list(service.entrypoint)
    if service.healthcheck is not None:
        config["Healthcheck"] = _healthcheck(service.healthcheck)
    if service.stop_signal:
        config["StopSignal"] = service.stop_signal
    if service.stop_grace_period_ns is not None:
        config["StopTimeout"] = service.stop_grace_period_ns // 1_000_000_000
    for key, api_key in _EXTRA_CONFIG.items():
        if key in service.extras:
            config[api_key] = service.extras[key]
    host_config: dict[str, Any] = {
        "PortBindings": bindings,
        "Mounts": [_mount(project, v) for v in service.volumes],
        "RestartPolicy": restart_policy(None if oneoff else service.restart),
        "ExtraHosts": [f"{host}:{ip}" for host, ip in service.extra_hosts],
        "Dns": list(service.dns),
        "DnsSearch": list(service.dns_search),
        "DnsOptions": list(service.dns_opt),
        "Links": list(links),
    }
    for key, api_key in _EXTRA_HOST_CONFIG.items():
        if key in service.extras:
            host_config[api_key] = service.extras[key]
    if "sysctls" in service.extras:
        host_config["Sysctls"] = _sysctls(service.extras["sysctls"])
    if "tmpfs" in service.extras:
        paths = service.extras["tmpfs"]
        host_config["Tmpfs"] = {p.partition(":")[0]: p.partition(":")[2]
                                for p in ([paths] if isinstance(paths, str) else paths)}
    endpoints: dict[str, Any] = {}
    if network_mode is not None:
        host_config["NetworkMode"] = network_mode
    else:
        attachments = ordered_networks(service)
        for attachment in attachments:
            endpoints[project.networks[attachment.network].name] = _endpoint(
                service, attachment, oneoff=oneoff)
        if attachments:
            host_config["NetworkMode"] = project.networks[attachments[0].network].name
    config["HostConfig"] = host_config
    config["NetworkingConfig"] = {"EndpointsConfig": endpoints}
    return ContainerRequest(container_name, config)


def _endpoint(service: Service, attachment: ServiceNetwork, *, oneoff: bool) -> dict[str, Any]:
    # A one-off container (``run``) is not a replica: it does not answer to the service
    # name, as compose leaves the alias off too.
    aliases = [] if oneoff else [service.name]
    aliases += [a for a in attachment.aliases if a not in aliases]
    endpoint: dict[str, Any] = {"Aliases": aliases}
    ipam: dict[str, Any] = {}
    if attachment.ipv4_address:
        ipam["IPv4Address"] = attachment.ipv4_address
    if attachment.ipv6_address:
        ipam["IPv6Address"] = attachment.ipv6_address
    if attachment.link_local_ips:
        ipam["LinkLocalIPs"] = list(attachment.link_local_ips)
    if ipam:
        endpoint["IPAMConfig"] = ipam
    if attachment.mac_address:
        endpoint["MacAddress"] = attachment.mac_address
    if attachment.driver_opts:
        endpoint["DriverOpts"] = dict(attachment.driver_opts)
    if attachment.gw_priority:
        endpoint["GwPriority"] = attachment.gw_priority
    return endpoint
