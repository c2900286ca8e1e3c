"""``dockyard compose config``: the normalised project as YAML, shaped like the output of
``docker compose config``.

Layout follows compose: ``name``, ``services`` (sorted), ``networks``, ``volumes``; inside a
service, keys in the order compose's own model declares them; ports, volumes and
depends_on in long form; environment and labels as maps; durations as Go durations.
Known differences: ``env_file`` is shown already folded into ``environment`` (compose
also keeps the ``env_file`` list); keys Dockyard does not interpret are printed as they
were written, after interpolation.
"""

from __future__ import annotations

from typing import Any

from dockyard.compose.duration import format_duration
from dockyard.compose.model import (
    Build,
    Healthcheck,
    NetworkConfig,
    Project,
    Service,
    ServicePort,
    ServiceVolume,
    VolumeConfig,
)
from dockyard.compose.yamlio import dump_yaml

# compose-go's ServiceConfig field order (the order `docker compose config` prints).
_SERVICE_ORDER = (
    "profiles", "annotations", "attach", "build", "develop", "blkio_config", "cap_add",
    "cap_drop", "cgroup_parent", "cgroup", "cpu_count", "cpu_percent", "cpu_period",
    "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpus", "cpuset", "cpu_shares", "command",
    "configs", "container_name", "credential_spec", "depends_on", "deploy",
    "device_cgroup_rules", "devices", "dns", "dns_opt", "dns_search", "domainname",
    "entrypoint", "provider", "environment", "expose", "external_links", "extra_hosts",
    "group_add", "gpus", "hostname", "healthcheck", "image", "init", "ipc", "isolation",
    "labels", "links", "logging", "mem_limit", "mem_reservation", "memswap_limit",
    "mem_swappiness", "mac_address", "models", "network_mode", "networks", "oom_kill_disable",
    "oom_score_adj", "pid", "pids_limit", "platform", "ports", "privileged", "pull_policy",
    "read_only", "restart", "runtime", "scale", "secrets", "security_opt", "shm_size",
    "stdin_open", "stop_grace_period", "stop_signal", "storage_opt", "sysctls", "tmpfs", "tty",
    "ulimits", "use_api_socket", "user", "userns_mode", "uts", "volumes", "volumes_from",
    "working_dir", "post_start", "pre_stop",
)  # fmt: skip


def _port(port: ServicePort) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if port.name:
        out["name"] = port.name
    out["mode"] = port.mode
    if port.host_ip:
        out["host_ip"] = port.host_ip
    out["target"] = port.target
    if port.published is not None:
        out["published"] = port.published
    out["protocol"] = port.protocol
    if port.app_protocol:
        out["app_protocol"] = port.app_protocol
    return out


def _volume(mount: ServiceVolume) -> dict[str, Any]:
    out: dict[str, Any] = {"type": mount.type}
    if mount.source:
        out["source"] = mount.source
    out["target"] = mount.target
    if mount.read_only:
        out["read_only"] = True
    if mount.consistency:
        out["consistency"] = mount.consistency
    if mount.type == "bind":
        bind: dict[str, Any] = {}
        if mount.propagation:
            bind["propagation"] = mount.propagation
        if mount.create_host_path:
            bind["create_host_path"] = True
        if mount.selinux:
            bind["selinux"] = mount.selinux
        out["bind"] = bind
    elif mount.type == "volume":
        volume: dict[str, Any] = {}
        if mount.nocopy:
            volume["nocopy"] = True
        if mount.subpath:
            volume["subpath"] = mount.subpath
        out["volume"] = volume
    elif mount.type == "tmpfs":
        tmpfs: dict[str, Any] = {}
        if mount.tmpfs_size is not None:
            tmpfs["size"] = mount.tmpfs_size
        if mount.tmpfs_mode is not None:
            tmpfs["mode"] = mount.tmpfs_mode
        out["tmpfs"] = tmpfs
    return out


def _build(build: Build) -> dict[str, Any]:
    out: dict[str, Any] = {"context": build.context}
    if build.dockerfile:
        out["dockerfile"] = build.dockerfile
    if build.args:
        out["args"] = dict(sorted(build.args.items()))
    if build.target:
        out["target"] = build.target
    out.update(build.options)
    return out


def _healthcheck(check: Healthcheck) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if check.test:
        out["test"] = list(check.test)
    for key, value in (("timeout", check.timeout_ns), ("interval", check.interval_ns)):
        if value is not None:
            out[key] = format_duration(value)
    if check.retries is not None:
        out["retries"] = check.retries
    for key, value in (("start_period", check.start_period_ns),
                       ("start_interval", check.start_interval_ns)):
        if value is not None:
            out[key] = format_duration(value)
    if check.disabled:
        out["disable"] = True
    return out


def _service_networks(service: Service) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attachment in sorted(service.networks, key=lambda n: n.network):
        settings: dict[str, Any] = {}
        if attachment.aliases:
            settings["aliases"] = list(attachment.aliases)
        for key in ("ipv4_address", "ipv6_address", "mac_address", "interface_name"):
            value = getattr(attachment, key)
            if value:
                settings[key] = value
        if attachment.link_local_ips:
            settings["link_local_ips"] = list(attachment.link_local_ips)
        if attachment.driver_opts:
            settings["driver_opts"] = dict(attachment.driver_opts)
        if attachment.priority:
            settings["priority"] = attachment.priority
        if attachment.gw_priority:
            settings["gw_priority"] = attachment.gw_priority
        out[attachment.network] = settings or None
    return out


def service_dict(service: Service) -> dict[str, Any]:
    """One service as compose prints it."""
    fields: dict[str, Any] = dict(service.extras)
    if service.profiles:
        fields["profiles"] = list(service.profiles)
    if service.build:
        fields["build"] = _build(service.build)
    if service.command is not None:
        fields["command"] = list(service.command)
    if service.container_name:
        fields["container_name"] = service.container_name
    if service.depends_on:
        deps: dict[str, Any] = {}
        for dep in sorted(service.depends_on, key=lambda d: d.service):
            entry: dict[str, Any] = {"condition": dep.condition}
            if dep.restart:
                entry["restart"] = True
            entry["required"] = dep.required
            deps[dep.service] = entry
        fields["depends_on"] = deps
    if service.deploy is not None:
        fields["deploy"] = service.deploy
    for key in ("dns", "dns_opt", "dns_search", "expose", "links", "external_links"):
        value = getattr(service, key)
        if value:
            fields[key] = list(value)
    if service.domainname:
        fields["domainname"] = service.domainname
    if service.entrypoint is not None:
        fields["entrypoint"] = list(service.entrypoint)
    if service.environment:
        fields["environment"] = dict(sorted(service.environment.items()))
    if service.extra_hosts:
        fields["extra_hosts"] = [f"{host}={ip}" for host, ip in service.extra_hosts]
    if service.hostname:
        fields["hostname"] = service.hostname
    if service.healthcheck is not None:
        fields["healthcheck"] = _healthcheck(service.healthcheck)
    if service.image:
        fields["image"] = service.image
    if service.labels:
        fields["labels"] = dict(sorted(service.labels.items()))
    if service.network_mode:
        fields["network_mode"] = service.network_mode
    if service.networks:
        fields["networks"] = _service_networks(service)
    if service.ports:
        fields["ports"] = [_port(p) for p in service.ports]
    if service.restart:
        fields["restart"] = service.restart
    if service.stop_grace_period_ns is not None:
        fields["stop_grace_period"] = format_duration(service.stop_grace_period_ns)
    if service.stop_signal:
        fields["stop_signal"] = service.stop_signal
    if service.user is not None:
        fields["user"] = service.user
    if service.volumes:
        fields["volumes"] = [_volume(v) for v in service.volumes]
    if service.working_dir:
        fields["working_dir"] = service.working_dir
    rank = {key: idx for idx, key in enumerate(_SERVICE_ORDER)}
    return dict(sorted(fields.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))


def network_dict(network: NetworkConfig) -> dict[str, Any]:
    out: dict[str, Any] = {"name": network.name}
    if network.driver:
        out["driver"] = network.driver
    if network.driver_opts:
        out["driver_opts"] = dict(network.driver_opts)
    if network.ipam is not None:
        ipam: dict[str, Any] = {}
        if network.ipam.driver:
            ipam["driver"] = network.ipam.driver
        if network.ipam.config:
            pools = []
            for pool in network.ipam.config:
                entry: dict[str, Any] = {}
                for key in ("subnet", "ip_range", "gateway"):
                    if getattr(pool, key):
                        entry[key] = getattr(pool, key)
                if pool.aux_addresses:
                    entry["aux_addresses"] = dict(pool.aux_addresses)
                pools.append(entry)
            ipam["config"] = pools
        if network.ipam.options:
            ipam["options"] = dict(network.ipam.options)
        out["ipam"] = ipam
    if network.external:
        out["external"] = True
    if network.internal:
        out["internal"] = True
    if network.attachable:
        out["attachable"] = True
    if network.labels:
        out["labels"] = dict(sorted(network.labels.items()))
    if network.enable_ipv4 is not None:
        out["enable_ipv4"] = network.enable_ipv4
    if network.enable_ipv6 is not None:
        out["enable_ipv6"] = network.enable_ipv6
    return out


def volume_dict(volume: VolumeConfig) -> dict[str, Any]:
    out: dict[str, Any] = {"name": volume.name}
    if volume.driver:
        out["driver"] = volume.driver
    if volume.driver_opts:
        out["driver_opts"] = dict(volume.driver_opts)
    if volume.external:
        out["external"] = True
    if volume.labels:
        out["labels"] = dict(sorted(volume.labels.items()))
    return out


def project_dict(project: Project) -> dict[str, Any]:
    out: dict[str, Any] = {"name": project.name}
    out["services"] = {
        name: service_dict(project.services[name]) for name in sorted(project.services)
    }
    if project.networks:
        out["networks"] = {k: network_dict(project.networks[k]) for k in sorted(project.networks)}
    if project.volumes:
        out["volumes"] = {k: volume_dict(project.volumes[k]) for k in sorted(project.volumes)}
    for key in sorted(project.extras):
        out[key] = project.extras[key]
    return out


def render_config(project: Project) -> str:
    """The YAML ``docker compose config`` would print for this project."""
    return dump_yaml(project_dict(project))
