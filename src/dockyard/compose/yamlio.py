"""YAML in and out, read the way compose (YAML 1.2, Go's yaml.v3) reads it.

PyYAML implements YAML 1.1, where ``9090:9090`` is a base-60 integer, ``on``/``yes`` are
booleans and ``0755`` is octal. Compose files are written against 1.2, so the loader
keeps only the 1.2 core schema's implicit types; everything else stays a string.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_DROPPED = {
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp",
}


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_yaml(text: str) -> Any:
    """Parse one YAML document (raises ``yaml.YAMLError``)."""
    return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader


class _Dumper(yaml.SafeDumper):
    """Indents block sequences under their key, as ``docker compose config`` prints them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


class _Resolver(yaml.resolver.Resolver):
    """Decides, as the loader would, what a plain scalar means."""


_Resolver.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
_RESOLVER = _Resolver()


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # A string that a YAML 1.2 reader would take for a number, bool or null is quoted with
    # double quotes, as Go's yaml.v3 does (``published: "8080"``, ``user: "472"``).
    implicit = _RESOLVER.resolve(yaml.ScalarNode, data, (True, False))  # type: ignore[no-untyped-call]
    if data == "" or implicit != "tag:yaml.org,2002:str" or _looks_11_special(data):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_YAML11_SPECIAL = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+)$"
)


def _looks_11_special(data: str) -> bool:
    """Strings a YAML 1.1 reader would misread; quote them so both readers agree."""
    return bool(_YAML11_SPECIAL.match(data))


_Dumper.add_representer(str, _represent_str)


def dump_yaml(data: Any) -> str:
    """Block-style YAML in the key order given (no sorting), 2-space indent."""
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        indent=2,
        width=1 << 16,
    )
