"""Merging canonical definitions: a later file (or an extending service) over an earlier one.

The compose specification's rules: maps merge key by key, the later value winning;
sequences are appended; ``command``, ``entrypoint`` and ``healthcheck.test`` are replaced;
"unique resources" merge by their key — ``ports`` by (host_ip, target, published,
protocol), ``volumes`` by target — and plain string lists are de-duplicated. A null value
(``networks: {back: }``) only declares and never erases what an earlier file set.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

from dockyard.compose.model import ServicePort, ServiceVolume

_REPLACE = {("command",), ("entrypoint",), ("healthcheck", "test")}
_DEDUP = {
    "expose", "dns", "dns_search", "dns_opt", "extra_hosts", "links", "external_links",
    "cap_add", "cap_drop", "profiles", "security_opt", "tmpfs", "volumes_from", "group_add",
    "device_cgroup_rules",
}  # fmt: skip


def _port_key(port: ServicePort) -> Hashable:
    return port.key()


def _volume_key(volume: ServiceVolume) -> Hashable:
    return volume.target


def _env_file_key(entry: Mapping[str, Any]) -> Hashable:
    return str(entry["path"])


_KEYED: dict[str, Callable[[Any], Hashable]] = {
    "ports": _port_key,
    "volumes": _volume_key,
    "env_file": _env_file_key,
}


def _merge_keyed(base: list[Any], override: list[Any], key: Callable[[Any], Hashable]) -> list[Any]:
    merged: dict[Hashable, Any] = {key(item): item for item in base}
    for item in override:
        merged[key(item)] = item
    return list(merged.values())


def _dedup(items: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def merge_values(base: Any, override: Any, path: tuple[str, ...] = ()) -> Any:
    if override is None:
        return base
    if path in _REPLACE or base is None:
        return override
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge_values(base[key], value, (*path, key)) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(override, list):
        last = path[-1] if len(path) == 1 else None
        if last in _KEYED:
            return _merge_keyed(base, override, _KEYED[last])
        if last in _DEDUP:
            return _dedup(base + override)
        return base + override
    return override


def merge_service(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` (the later file, or the extending service) over ``base``."""
    result = merge_values(dict(base), dict(override))
    assert isinstance(result, dict)
    return result


def merge_top_level(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge two whole canonical files (``services`` by service, the rest as maps)."""
    merged: dict[str, Any] = dict(base)
    for key, value in override.items():
        if key == "services" and "services" in merged:
            services = dict(merged["services"])
            for name, service in (value or {}).items():
                services[name] = (
                    merge_service(services[name], service) if name in services else service
                )
            merged["services"] = services
        elif key in merged:
            merged[key] = merge_values(merged[key], value, ("<top>", key))
        else:
            merged[key] = value
    return merged
