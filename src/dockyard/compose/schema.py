"""Validation of one compose file against the Compose Specification's JSON schema.

The schema (``compose-spec.json``, vendored from compose-spec/compose-spec, see
SCHEMA-LICENSE.md) does the per-key checking; this module only turns the most relevant
``jsonschema`` error into a message that names the file and key path.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from dockyard.compose.errors import SchemaError


@cache
def _validator() -> jsonschema.Draft7Validator:
    text = resources.files("dockyard.compose").joinpath("compose-spec.json").read_text("utf-8")
    schema = json.loads(text)
    return jsonschema.Draft7Validator(schema)


def _deepest(error: ValidationError) -> ValidationError:
    """For ``oneOf`` failures, the branch error that got furthest into the value."""
    while error.context:
        candidate = best_match(error.context)
        if candidate is None or len(candidate.absolute_path) < len(error.absolute_path):
            break
        # A type mismatch against one branch says little; prefer going deeper only when
        # the branch matched the value's type.
        if candidate.validator == "type" and len(candidate.absolute_path) == len(
            error.absolute_path
        ):
            break
        error = candidate
    return error


def _describe(error: ValidationError) -> str:
    kind = error.validator
    schema: Any = error.schema
    instance: Any = error.instance
    if kind == "additionalProperties":
        allowed = set(schema.get("properties", {}))
        patterns = schema.get("patternProperties", {})
        extra = [
            key
            for key in instance
            if key not in allowed and not any(_re_match(p, key) for p in patterns)
        ]
        names = ", ".join(f'"{k}"' for k in extra) or "?"
        return f"additional property {names} is not allowed"
    if kind == "type":
        expected = error.validator_value
        if isinstance(expected, list):
            expected = " or ".join(expected)
        return f"must be {_article(str(expected))}, got {_show(error.instance)}"
    if kind == "enum":
        choices: Any = error.validator_value
        options = ", ".join(json.dumps(v) for v in choices)
        return f"{_show(error.instance)} must be one of {options}"
    if kind == "required":
        return error.message.replace("is a required property", "is required")
    if kind == "oneOf":
        return f"{_show(error.instance)} does not match any allowed form"
    if kind == "uniqueItems":
        return "contains duplicate items"
    if kind == "pattern":
        return f"{_show(error.instance)} does not match {error.validator_value!r}"
    return error.message


def _article(word: str) -> str:
    if " or " in word:
        return word
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _show(value: Any) -> str:
    if isinstance(value, dict | list):
        text = json.dumps(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return json.dumps(value)


def _re_match(pattern: str, key: str) -> bool:
    return re.search(pattern, key) is not None


def validate_file(data: Any, file: str) -> None:
    """Raise SchemaError naming ``file`` and the key path of the first problem."""
    errors = list(_validator().iter_errors(data))
    if not errors:
        return
    best = best_match(errors)
    assert best is not None
    best = _deepest(best)
    raise SchemaError(_describe(best), file=file, path=tuple(best.absolute_path))
