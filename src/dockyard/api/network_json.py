"""Networks in Docker's JSON shape, list filters, and the create/connect bodies (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
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
from dockyard.api.filters import Filters, bool_filter, match_any, match_labels
from dockyard.engine.engine import PoolRequest
from dockyard.engine.state import State
from dockyard.errors import InvalidParameter
from dockyard.model.network import Network

NETWORK_FILTERS = ("name", "id", "driver", "label", "type", "dangling", "scope")
PRUNE_FILTERS = ("label", "label!", "until")


def network_doc(network: Network, state: State | None) -> dict[str, Any]:
    """``GET /networks/{id}``; with ``state`` None, the list form (``Containers`` empty)."""
    config: list[dict[str, Any]] = []
    for pool in network.pools:
        entry: dict[str, Any] = {"Subnet": pool.subnet}
        if pool.ip_range:
            entry["IPRange"] = pool.ip_range
        if pool.gateway:
            entry["Gateway"] = pool.gateway
        if pool.aux_addresses:
            entry["AuxiliaryAddresses"] = dict(pool.aux_addresses)
        config.append(entry)
    containers: dict[str, Any] = {}
    if state is not None:
        for endpoint in state.endpoints_of_network(network.id):
            if endpoint.state != "ready":
                continue
            containers[endpoint.sandbox_id] = {
                "Name": endpoint.name,
                "EndpointID": endpoint.id,
                "MacAddress": endpoint.mac,
                "IPv4Address": endpoint.ipv4 or "",
                "IPv6Address": endpoint.ipv6 or "",
            }
    return {
        "Name": network.name,
        "Id": network.id,
        "Created": network.created,
        "Scope": network.scope,
        "Driver": network.driver,
        "EnableIPv4": network.enable_ipv4,
        "EnableIPv6": network.enable_ipv6,
        "IPAM": {
            "Driver": network.ipam_driver or "default",
            "Options": dict(network.ipam_options) or None,
            "Config": config,
        },
        "Internal": network.internal,
        "Attachable": network.attachable,
        "Ingress": False,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": False,
        "Containers": containers,
        "Options": dict(network.options),
        "Labels": dict(network.labels),
    }


def filter_networks(networks: list[Network], state: State, filters: Filters) -> list[Network]:
    kinds = filters.get("type", [])
    for kind in kinds:
        if kind not in ("custom", "builtin"):
            raise InvalidParameter(f"invalid filter: 'type'='{kind}'")
    dangling = bool_filter("dangling", filters.get("dangling", []))
    chosen = []
    for network in networks:
        if "name" in filters and not match_any(filters["name"], network.name):
            continue
        if "id" in filters and not match_any(filters["id"], network.id):
            continue
        if "driver" in filters and network.driver not in filters["driver"]:
            continue
        if "scope" in filters and network.scope not in filters["scope"]:
            continue
        if "label" in filters and not match_labels(filters["label"], network.labels):
            continue
        if kinds and ("builtin" if network.predefined else "custom") not in kinds:
            continue
        if dangling is not None:
            unused = not network.predefined and not state.endpoints_of_network(network.id)
            if unused != dangling:
                continue
        chosen.append(network)
    return chosen


@dataclass(frozen=True)
class CreateRequest:
    """``POST /networks/create``, validated; field names follow ``Engine.create_network``."""

    name: str
    driver: str = "bridge"
    pools: tuple[PoolRequest, ...] = ()
    internal: bool = False
    attachable: bool = False
    enable_ipv6: bool = False
    enable_ipv4: bool = True
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    ipam_driver: str = "default"
    ipam_options: dict[str, str] = field(default_factory=dict)


def parse_create(body: Body) -> CreateRequest:
    name = get_str(body, "Name")
    if not name:
        raise InvalidParameter('invalid network name "": a name is required')
    for flag in ("CheckDuplicate", "Ingress", "ConfigOnly", "EnableIPv4"):
        get_bool(body, flag)
    if get_bool(body, "Ingress"):
        raise InvalidParameter("ingress networks need swarm mode, which Dockyard does not have")
    if get_bool(body, "ConfigOnly") or get_obj(body, "ConfigFrom").get("Network"):
        raise InvalidParameter("config-only networks (ConfigOnly/ConfigFrom) are not supported")
    scope = get_str(body, "Scope")
    if scope not in ("", "local"):
        raise InvalidParameter(f'invalid scope "{scope}": only "local" is supported')
    ipam = get_obj(body, "IPAM")
    pools = []
    for index, entry in enumerate(get_list(ipam, "Config", "IPAM.Config")):
        where = f"IPAM.Config[{index}]"
        if not isinstance(entry, dict):
            raise InvalidParameter(f'invalid JSON: field "{where}" must be an object')
        pools.append(PoolRequest(
            subnet=get_str(entry, "Subnet", f"{where}.Subnet") or None,
            gateway=get_str(entry, "Gateway", f"{where}.Gateway") or None,
            ip_range=get_str(entry, "IPRange", f"{where}.IPRange") or None,
            aux_addresses=get_str_map(entry, "AuxiliaryAddresses",
                                      f"{where}.AuxiliaryAddresses"),
        ))
    return CreateRequest(
        name=name,
        driver=get_str(body, "Driver", default="bridge") or "bridge",
        pools=tuple(pools),
        internal=get_bool(body, "Internal"),
        attachable=get_bool(body, "Attachable"),
        enable_ipv6=get_bool(body, "EnableIPv6"),
        enable_ipv4=body.get("EnableIPv4") is not False,
        options=get_str_map(body, "Options"),
        labels=get_str_map(body, "Labels"),
        ipam_driver=get_str(ipam, "Driver", "IPAM.Driver", "default") or "default",
        ipam_options=get_str_map(ipam, "Options", "IPAM.Options"),
    )


@dataclass(frozen=True)
class ConnectRequest:
    container: str
    aliases: tuple[str, ...] = ()
    ipv4: str | None = None
    ipv6: str | None = None
    links: tuple[str, ...] = ()
    gw_priority: int = 0
    mac: str | None = None


def parse_connect(body: Body) -> ConnectRequest:
    container = get_str(body, "Container")
    if not container:
        raise InvalidParameter('invalid container "": a container name or id is required')
    config = get_obj(body, "EndpointConfig")
    ipam = get_obj(config, "IPAMConfig", "EndpointConfig.IPAMConfig")
    return ConnectRequest(
        container=container,
        aliases=tuple(get_str_list(config, "Aliases", "EndpointConfig.Aliases")),
        ipv4=get_str(ipam, "IPv4Address", "EndpointConfig.IPAMConfig.IPv4Address") or None,
        ipv6=get_str(ipam, "IPv6Address", "EndpointConfig.IPAMConfig.IPv6Address") or None,
        links=tuple(get_str_list(config, "Links", "EndpointConfig.Links")),
        gw_priority=get_int(config, "GwPriority", "EndpointConfig.GwPriority"),
        mac=get_str(config, "MacAddress", "EndpointConfig.MacAddress") or None,
    )


def parse_disconnect(body: Body) -> tuple[str, bool]:
    container = get_str(body, "Container")
    if not container:
        raise InvalidParameter('invalid container "": a container name or id is required')
    return container, get_bool(body, "Force")


def parse_until(value: str, now: datetime) -> datetime:
    """Docker's ``until``: a Unix timestamp, an RFC 3339 time, or a duration like ``10m``."""
    from dockyard.api.timeparse import parse_time_or_duration

    return parse_time_or_duration(value, now, "until")
