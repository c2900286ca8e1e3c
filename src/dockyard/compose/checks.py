"""Cross-reference checks the JSON schema cannot express, run on the built services."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from dockyard.compose.errors import ProjectError
from dockyard.compose.model import Dependency, Service
from dockyard.compose.order import find_cycle


def host_mode_ports_warning(service: str) -> str:
    return (f'service "{service}": published ports are discarded when using host network '
            "mode")


def drop_unavailable_dependencies(
    services: Mapping[str, Service],
    disabled: set[str],
    origins: Mapping[str, str],
    warnings: list[str],
) -> dict[str, Service]:
    """Check each ``depends_on`` target exists and is enabled; a dependency marked
    ``required: false`` on a missing or disabled service is dropped with a warning."""
    result: dict[str, Service] = {}
    for name, service in services.items():
        kept: list[Dependency] = []
        for dep in service.depends_on:
            if dep.service in services:
                kept.append(dep)
                continue
            if not dep.required:
                warnings.append(f'service "{name}": optional dependency "{dep.service}" is not '
                                "available and is ignored")
                continue
            path = ("services", name, "depends_on")
            if dep.service in disabled:
                raise ProjectError(f'service "{dep.service}" is not enabled by the active '
                                   "profiles", file=origins.get(name), path=path)
            raise ProjectError(f'depends on undefined service "{dep.service}"',
                               file=origins.get(name), path=path)
        result[name] = replace(service, depends_on=tuple(kept))
    return result


def check_services(
    services: Mapping[str, Service],
    *,
    network_keys: set[str],
    volume_keys: set[str],
    all_services: set[str],
    origins: Mapping[str, str],
    raw_networks: Mapping[str, bool],
    warnings: list[str],
) -> None:
    """Raise ProjectError for the first broken reference; add compose's warnings.

    ``raw_networks`` tells, per service, whether the file listed ``networks`` itself (the
    implicit ``default`` does not count against ``network_mode``)."""
    container_names: dict[str, str] = {}
    for name, service in services.items():
        file = origins.get(name)
        base = ("services", name)
        mode = service.network_mode
        if mode is not None and raw_networks.get(name):
            raise ProjectError("network_mode and networks cannot be combined", file=file,
                               path=base)
        if mode is not None and mode.split(":", 1)[0] in ("service",):
            target = mode.split(":", 1)[1]
            if target not in all_services:
                raise ProjectError(f'network_mode refers to undefined service "{target}"',
                                   file=file, path=(*base, "network_mode"))
        if mode == "host" and service.ports:
            warnings.append(host_mode_ports_warning(name))
        for attachment in service.networks:
            if attachment.network not in network_keys:
                raise ProjectError(f'network "{attachment.network}" is not declared in the '
                                   "top-level networks", file=file, path=(*base, "networks"))
        for idx, mount in enumerate(service.volumes):
            if mount.named and mount.source not in volume_keys:
                raise ProjectError(f'volume "{mount.source}" is not declared in the top-level '
                                   "volumes", file=file, path=(*base, "volumes", idx))
        for idx, link in enumerate(service.links):
            target = link.split(":", 1)[0]
            if target not in all_services:
                raise ProjectError(f'link to undefined service "{target}"', file=file,
                                   path=(*base, "links", idx))
        if service.container_name:
            if service.replicas > 1:
                raise ProjectError(
                    f'container name "{service.container_name}" must be unique, but the '
                    f"service has {service.replicas} replicas",
                    file=file, path=(*base, "container_name"))
            other = container_names.get(service.container_name)
            if other is not None:
                raise ProjectError(
                    f'container name "{service.container_name}" is also used by service '
                    f'"{other}"', file=file, path=(*base, "container_name"))
            container_names[service.container_name] = name
    cycle = find_cycle({n: s.dependencies for n, s in services.items()})
    if cycle:
        raise ProjectError("dependency cycle detected: " + " -> ".join(cycle),
                           file=origins.get(cycle[0]), path=("services", cycle[0], "depends_on"))
