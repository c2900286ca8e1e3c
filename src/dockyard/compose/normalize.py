"""Canonical (merged) definitions → frozen model values.

Everything here is per object: one service, one network, one volume. Cross references
(does that network exist? is there a cycle?) are checked in ``checks.py``.
"""

from __future__ import annotations

import os.path
from collections.abc import Callable, Mapping
from typing import Any

from dockyard.compose.canonical import list_or_dict, scalar_text
from dockyard.compose.dotenv import parse_dotenv
from dockyard.compose.duration import parse_duration
from dockyard.compose.errors import KeyPath, SyntaxFormError
from dockyard.compose.model import (
    Build,
    Dependency,
    Healthcheck,
    Ipam,
    IpamPool,
    NetworkConfig,
    Service,
    ServiceNetwork,
    VolumeConfig,
)

ReadText = Callable[[str], str]

# Keys turned into typed fields; anything else the schema allows goes to Service.extras.
_CONSUMED = {
    "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "expose",
    "volumes", "networks", "network_mode", "depends_on", "links", "external_links",
    "extra_hosts", "dns", "dns_search", "dns_opt", "hostname", "domainname", "container_name",
    "working_dir", "user", "restart", "labels", "healthcheck", "scale", "deploy",
    "stop_grace_period", "stop_signal", "profiles", "extends",
}  # fmt: skip


def truthy(value: Any) -> bool:
    """Booleans the schema lets be strings (``internal: "true"`` after interpolation)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "y", "on")
    return bool(value)


def _int(value: Any, what: str, fail: Callable[[str], Exception]) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise fail(f"invalid {what} {value!r}: not an integer") from None


def build_healthcheck(raw: Mapping[str, Any], fail: Callable[..., Exception]) -> Healthcheck:
    test_raw = raw.get("test")
    test: tuple[str, ...]
    if truthy(raw.get("disable", False)):
        test = ("NONE",)
    elif test_raw is None:
        test = ()
    elif isinstance(test_raw, str):
        test = ("CMD-SHELL", test_raw)
    else:
        test = tuple(test_raw)
        if test and test[0] not in ("CMD", "CMD-SHELL", "NONE"):
            raise fail(f'invalid test "{test[0]}": must start with CMD, CMD-SHELL or NONE',
                       "test")

    def duration(key: str) -> int | None:
        if raw.get(key) is None:
            return None
        try:
            return parse_duration(raw[key])
        except ValueError as exc:
            raise fail(f'invalid duration "{raw[key]}": {exc}', key) from None

    retries = raw.get("retries")
    return Healthcheck(
        test=test,
        interval_ns=duration("interval"),
        timeout_ns=duration("timeout"),
        start_period_ns=duration("start_period"),
        start_interval_ns=duration("start_interval"),
        retries=None if retries is None else _int(retries, "retries", lambda m: fail(m, "retries")),
    )


def _service_network(key: str, spec: Mapping[str, Any] | None) -> ServiceNetwork:
    if spec is None:
        return ServiceNetwork(network=key, declared=False)
    return ServiceNetwork(
        network=key,
        aliases=tuple(spec.get("aliases") or ()),
        ipv4_address=spec.get("ipv4_address"),
        ipv6_address=spec.get("ipv6_address"),
        link_local_ips=tuple(spec.get("link_local_ips") or ()),
        mac_address=spec.get("mac_address"),
        interface_name=spec.get("interface_name"),
        driver_opts={k: scalar_text(v) for k, v in (spec.get("driver_opts") or {}).items()},
        priority=int(spec.get("priority") or 0),
        gw_priority=int(spec.get("gw_priority") or 0),
    )


def _environment(
    raw: Mapping[str, Any],
    *,
    project_env: Mapping[str, str],
    read_text: ReadText,
    fail: Callable[..., Exception],
    warnings: list[str],
) -> tuple[dict[str, str | None], tuple[str, ...]]:
    """env_file contents, overlaid by ``environment``; a bare ``KEY`` takes its value from
    the project environment (and stays unset, None, when that has none)."""
    env: dict[str, str | None] = {}
    used: list[str] = []
    for idx, entry in enumerate(raw.get("env_file") or ()):
        path = entry["path"]
        try:
            text = read_text(path)
        except FileNotFoundError:
            if truthy(entry.get("required", True)):
                raise fail(f'env file "{path}" not found', "env_file", idx) from None
            continue
        except OSError as exc:
            raise fail(f'cannot read env file "{path}": {exc.strerror}', "env_file", idx) from None
        values, file_warnings = parse_dotenv(text, file=path, lookup=project_env)
        warnings.extend(w for w in file_warnings if w not in warnings)
        env.update(values)
        used.append(path)
    env.update(raw.get("environment") or {})
    resolved = {key: project_env.get(key) if value is None else value for key, value in env.items()}
    return resolved, tuple(used)


def build_service(
    name: str,
    raw: Mapping[str, Any],
    *,
    file: str,
    project_env: Mapping[str, str],
    read_text: ReadText,
    warnings: list[str],
) -> Service:
    base: KeyPath = ("services", name)

    def fail(detail: str, *key: str | int) -> SyntaxFormError:
        return SyntaxFormError(detail, file=file, path=(*base, *key))

    environment, env_files = _environment(
        raw, project_env=project_env, read_text=read_text, fail=fail, warnings=warnings
    )
    build = None
    if raw.get("build") is not None:
        b = dict(raw["build"])
        build = Build(
            context=b.pop("context"),
            dockerfile=b.pop("dockerfile", None),
            args=b.pop("args", {}),
            target=b.pop("target", None),
            options=b,
        )
    deploy = raw.get("deploy")
    replicas = 1
    if raw.get("scale") is not None:
        replicas = _int(raw["scale"], "scale", lambda m: fail(m, "scale"))
    if deploy and deploy.get("replicas") is not None:
        replicas = _int(deploy["replicas"], "replicas", lambda m: fail(m, "deploy", "replicas"))
    if deploy and deploy.get("mode") == "global":
        replicas = 1
    if replicas < 0:
        raise fail(f"invalid replicas {replicas}: must not be negative", "deploy", "replicas")
    stop_grace = None
    if raw.get("stop_grace_period") is not None:
        try:
            stop_grace = parse_duration(raw["stop_grace_period"])
        except ValueError as exc:
            raise fail(f'invalid duration "{raw["stop_grace_period"]}": {exc}',
                       "stop_grace_period") from None
    networks = [_service_network(key, spec) for key, spec in (raw.get("networks") or {}).items()]
    if not networks and raw.get("network_mode") is None:
        networks = [ServiceNetwork(network="default", declared=False)]
    # Compose connects networks by descending priority, then by name.
    networks.sort(key=lambda n: (-n.priority, n.network))
    depends_on = [
        Dependency(service=dep, condition=spec.get("condition", "service_started"),
                   required=truthy(spec.get("required", True)),
                   restart=truthy(spec.get("restart", False)))
        for dep, spec in (raw.get("depends_on") or {}).items()
    ]
    implicit: list[str] = [link.split(":", 1)[0] for link in raw.get("links") or ()]
    mode = raw.get("network_mode")
    if isinstance(mode, str) and mode.startswith("service:"):
        implicit.append(mode.split(":", 1)[1])
    for source in raw.get("volumes_from") or ():
        if not source.startswith("container:"):
            implicit.append(source.split(":", 1)[0])
    known = {d.service for d in depends_on}
    for dep in implicit:
        if dep not in known:
            # links, network_mode: service:x and volumes_from also order the start, and a
            # restart of the dependency restarts this service (compose's own rule).
            depends_on.append(Dependency(service=dep, restart=True))
            known.add(dep)
    healthcheck = None
    if raw.get("healthcheck") is not None:
        healthcheck = build_healthcheck(
            raw["healthcheck"], lambda m, *k: fail(m, "healthcheck", *k)
        )
    hosts = tuple(
        (entry.split("=", 1)[0], entry.split("=", 1)[1]) for entry in raw.get("extra_hosts") or ()
    )
    labels = {k: v or "" for k, v in (raw.get("labels") or {}).items()}
    return Service(
        name=name,
        image=raw.get("image"),
        build=build,
        command=None if raw.get("command") is None else tuple(raw["command"]),
        entrypoint=None if raw.get("entrypoint") is None else tuple(raw["entrypoint"]),
        environment=environment,
        env_files=env_files,
        ports=tuple(raw.get("ports") or ()),
        expose=tuple(raw.get("expose") or ()),
        volumes=tuple(raw.get("volumes") or ()),
        networks=tuple(networks),
        network_mode=mode,
        depends_on=tuple(depends_on),
        links=tuple(raw.get("links") or ()),
        external_links=tuple(raw.get("external_links") or ()),
        extra_hosts=hosts,
        dns=tuple(raw.get("dns") or ()),
        dns_search=tuple(raw.get("dns_search") or ()),
        dns_opt=tuple(raw.get("dns_opt") or ()),
        hostname=raw.get("hostname"),
        domainname=raw.get("domainname"),
        container_name=raw.get("container_name"),
        working_dir=raw.get("working_dir"),
        user=None if raw.get("user") is None else str(raw["user"]),
        restart=raw.get("restart"),
        labels=labels,
        healthcheck=healthcheck,
        replicas=replicas,
        stop_grace_period_ns=stop_grace,
        stop_signal=raw.get("stop_signal"),
        profiles=tuple(raw.get("profiles") or ()),
        deploy=deploy,
        extras={k: v for k, v in raw.items() if k not in _CONSUMED},
    )


def _external(raw: Mapping[str, Any]) -> tuple[bool, str | None]:
    """(external?, legacy ``external: {name: x}`` name)."""
    ext = raw.get("external")
    if isinstance(ext, dict):
        return True, ext.get("name")
    return truthy(ext or False), None


def _resource_name(project: str, key: str, raw: Mapping[str, Any]) -> tuple[bool, str]:
    external, legacy_name = _external(raw)
    if raw.get("name"):
        return external, str(raw["name"])
    if legacy_name:
        return external, legacy_name
    return external, key if external else f"{project}_{key}"


def build_network(project: str, key: str, raw: Mapping[str, Any] | None) -> NetworkConfig:
    raw = raw or {}
    external, name = _resource_name(project, key, raw)
    ipam = None
    if raw.get("ipam") is not None:
        ipam_raw = raw["ipam"]
        ipam = Ipam(
            driver=ipam_raw.get("driver"),
            config=tuple(
                IpamPool(subnet=pool.get("subnet"), ip_range=pool.get("ip_range"),
                         gateway=pool.get("gateway"),
                         aux_addresses=dict(pool.get("aux_addresses") or {}))
                for pool in ipam_raw.get("config") or ()
            ),
            options=dict(ipam_raw.get("options") or {}),
        )

    def optional_flag(flag: str) -> bool | None:
        return None if raw.get(flag) is None else truthy(raw[flag])

    return NetworkConfig(
        key=key,
        name=name,
        driver=raw.get("driver"),
        driver_opts={k: scalar_text(v) for k, v in (raw.get("driver_opts") or {}).items()},
        ipam=ipam,
        external=external,
        internal=truthy(raw.get("internal", False)),
        attachable=truthy(raw.get("attachable", False)),
        enable_ipv4=optional_flag("enable_ipv4"),
        enable_ipv6=optional_flag("enable_ipv6"),
        labels={k: v or "" for k, v in list_or_dict(raw.get("labels"), keep_none=False).items()},
    )


def build_volume(project: str, key: str, raw: Mapping[str, Any] | None) -> VolumeConfig:
    raw = raw or {}
    external, name = _resource_name(project, key, raw)
    return VolumeConfig(
        key=key,
        name=name,
        driver=raw.get("driver"),
        driver_opts={k: scalar_text(v) for k, v in (raw.get("driver_opts") or {}).items()},
        external=external,
        labels={k: v or "" for k, v in list_or_dict(raw.get("labels"), keep_none=False).items()},
    )


def read_text_file(path: str) -> str:
    """The one file read this package does for env files (injectable for tests)."""
    with open(os.path.abspath(path), encoding="utf-8") as handle:
        return handle.read()
