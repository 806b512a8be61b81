"""Validators of `CuratorStageSpec` fields: None (the run's default) or a sensible value.

They run at construction and on every assignment, and raise `StageDefinitionError`
naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs

from cosmos_curate.core.interfaces.errors import StageDefinitionError

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _reject(field: str, what: str, value: object) -> None:
    msg = f"CuratorStageSpec {field} must be {what} or None, got {value!r}"
    raise StageDefinitionError(msg)


def _is_number(value: object) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
    )


def positive_int(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """None or an int >= 1."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        _reject(attribute.name, "a positive integer", value)


def positive_number(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """None or a finite number > 0."""
    if value is not None and not (_is_number(value) and value > 0):  # type: ignore[operator]
        _reject(attribute.name, "a number > 0", value)


def at_least(low: float) -> Validator:
    """None or a finite number >= `low`."""

    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None and not (_is_number(value) and value >= low):  # type: ignore[operator]
            _reject(attribute.name, f"a number >= {low:g}", value)

    return check


def fraction_of_hundred(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """None or a percentage in [0, 100]."""
    if value is not None and not (_is_number(value) and 0 <= value <= 100):  # type: ignore[operator]
        _reject(attribute.name, "a percentage between 0 and 100", value)


def optional_bool(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """None, True or False."""
    if value is not None and not isinstance(value, bool):
        _reject(attribute.name, "True or False", value)
