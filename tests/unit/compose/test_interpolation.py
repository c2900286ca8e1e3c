from __future__ import annotations

import pytest

from dockyard.compose.errors import InterpolationError
from dockyard.compose.interpolation import Interpolator

ENV = {"SET": "value", "EMPTY": "", "OTHER": "other"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$SET", "value"),
        ("pre-$SET-post", "pre-value-post"),
        ("${SET}", "value"),
        ("${SET}suffix", "valuesuffix"),
        ("${UNSET:-default}", "default"),
        ("${EMPTY:-default}", "default"),
        ("${SET:-default}", "value"),
        ("${UNSET-default}", "default"),
        ("${EMPTY-default}", ""),
        ("${SET:+replaced}", "replaced"),
        ("${EMPTY:+replaced}", ""),
        ("${UNSET:+replaced}", ""),
        ("${SET+replaced}", "replaced"),
        ("${EMPTY+replaced}", "replaced"),
        ("${UNSET+replaced}", ""),
        ("${SET:?must be set}", "value"),
        ("${EMPTY?must be set}", ""),
        ("$$SET", "$SET"),
        ("($$|/)", "($|/)"),
        ("cost: 5$", "cost: 5$"),
        ("${UNSET:-${OTHER}}", "other"),
        ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
        ("${UNSET:-a ${SET} b}", "a value b"),
        ("${SET:-${NEVER_LOOKED_AT}}", "value"),
    ],
)
def test_interpolation_forms(text: str, expected: str) -> None:
    interp = Interpolator(ENV)
    assert interp.expand(text) == expected
    assert interp.warnings == []


def test_unset_variable_warns_once_and_becomes_empty() -> None:
    interp = Interpolator(ENV)
    assert interp.expand("a${NOPE}b$NOPE") == "ab"
    assert interp.warnings == ['The "NOPE" variable is not set. Defaulting to a blank string.']


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${UNSET:?please set it}", 'required variable "UNSET" is missing a value: please set it'),
        ("${EMPTY:?not empty}", 'required variable "EMPTY" is missing a value: not empty'),
        ("${UNSET?gone}", 'required variable "UNSET" is missing a value: gone'),
        ("${UNSET:?}", 'required variable "UNSET" is missing a value'),
    ],
)
def test_required_variable_error_names_variable_and_message(text: str, message: str) -> None:
    with pytest.raises(InterpolationError) as info:
        Interpolator(ENV).expand(text, file="compose.yaml", path=("services", "web", "image"))
    assert str(info.value) == f"compose.yaml: services.web.image: {message}"


@pytest.mark.parametrize("text", ["${SET", "${1BAD}", "${SET!x}", "${UNSET:-${X}"])
def test_malformed_template_is_an_error(text: str) -> None:
    with pytest.raises(InterpolationError, match="invalid interpolation format"):
        Interpolator(ENV).expand(text)
