"""Typed reads of a JSON request body, with Docker-like 400 messages naming the field.

Go's decoder refuses a value of the wrong type (``cannot unmarshal string into ... of
type bool``) and ignores unknown fields; these helpers do the same, and treat ``null``
as "not given", as Go does for pointers and maps.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dockyard.errors import InvalidParameter

Body = Mapping[str, Any]


def parse_json_body(raw: bytes, content_type: str | None, *, required: bool = True) -> Body:
    if content_type and raw and not content_type.startswith("application/json"):
        raise InvalidParameter(
            f"unsupported Content-Type header ({content_type}): must be 'application/json'")
    if not raw.strip():
        if required:
            raise InvalidParameter("invalid JSON: request body is empty")
        return {}
    try:
        doc = json.loads(raw)
    except ValueError as err:
        raise InvalidParameter(f"invalid JSON: {err}") from None
    if not isinstance(doc, dict):
        raise InvalidParameter(
            f"invalid JSON: expected an object, got {_json_type(doc)}")
    return doc


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _wrong(field: str, want: str, value: object) -> InvalidParameter:
    return InvalidParameter(
        f'invalid JSON: field "{field}" must be {want}, got {_json_type(value)}')


def get_str(body: Body, key: str, field: str | None = None, default: str = "") -> str:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _wrong(field or key, "a string", value)
    return value


def get_bool(body: Body, key: str, field: str | None = None, default: bool = False) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _wrong(field or key, "a boolean", value)
    return value


def get_int(body: Body, key: str, field: str | None = None, default: int = 0) -> int:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong(field or key, "an integer", value)
    return value


def get_obj(body: Body, key: str, field: str | None = None) -> Body:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _wrong(field or key, "an object", value)
    return value


def get_str_map(body: Body, key: str, field: str | None = None) -> dict[str, str]:
    value = get_obj(body, key, field)
    for k, v in value.items():
        if not isinstance(v, str):
            raise _wrong(f"{field or key}.{k}", "a string", v)
    return dict(value)


def get_list(body: Body, key: str, field: str | None = None) -> list[Any]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _wrong(field or key, "an array", value)
    return value


def get_str_list(body: Body, key: str, field: str | None = None) -> list[str]:
    value = get_list(body, key, field)
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise _wrong(f"{field or key}[{index}]", "a string", item)
    return list(value)
