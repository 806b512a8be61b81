"""Where two lists of tasks differ, numbers within a tolerance: replay's compare. No Ray.

Tasks are compared field by field (attrs classes, dataclasses, objects with a `__dict__`),
containers element by element, numbers and numpy arrays within `atol`, anything else with
`==`. Each difference names its path (`[1].caption`, `[0].frames[3]`) and both values.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs

MAX_VALUE_CHARS = 80


@attrs.frozen
class Difference:
    """One place where the saved and the new outputs differ."""

    path: str
    saved: str
    new: str

    def __str__(self) -> str:
        return f"{self.path}: saved {self.saved}, now {self.new}"


def diff_tasks(saved: Sequence[Any], new: Sequence[Any], atol: float = 0.0) -> list[Difference]:
    """Every difference between two output lists (empty: equal within `atol`)."""
    return list(_diff(saved, new, "", atol))


def _diff(a: Any, b: Any, path: str, atol: float) -> Iterator[Difference]:  # noqa: PLR0911
    if type(a) is not type(b) and not (_is_number(a) and _is_number(b)):
        yield _difference(path, a, b, f"a {type(a).__name__}", f"a {type(b).__name__}")
        return
    if _is_number(a):
        if not _close(a, b, atol):
            yield _difference(path, a, b)
        return
    if _is_array(a):
        yield from _diff_arrays(a, b, path, atol)
        return
    if isinstance(a, Mapping):
        yield from _diff_mappings(a, b, path, atol)
        return
    if isinstance(a, list | tuple):
        if len(a) != len(b):
            yield _difference(path, a, b, f"{len(a)} item(s)", f"{len(b)} item(s)")
            return
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _diff(x, y, f"{path}[{i}]", atol)
        return
    fields = _fields(a)
    if fields is None:
        if not _equal(a, b):
            yield _difference(path, a, b)
        return
    for name in fields:
        yield from _diff(getattr(a, name, None), getattr(b, name, None), f"{path}.{name}", atol)


def _diff_mappings(
    a: Mapping[Any, Any], b: Mapping[Any, Any], path: str, atol: float
) -> Iterator[Difference]:
    for key in sorted(set(a) | set(b), key=repr):
        where = f"{path}[{key!r}]"
        if key not in a or key not in b:
            yield _difference(
                where,
                a.get(key),
                b.get(key),
                "absent" if key not in a else None,
                "absent" if key not in b else None,
            )
            continue
        yield from _diff(a[key], b[key], where, atol)


def _diff_arrays(a: Any, b: Any, path: str, atol: float) -> Iterator[Difference]:
    import numpy as np

    if a.shape != b.shape or a.dtype != b.dtype:
        yield _difference(path, a, b, f"{a.dtype}{list(a.shape)}", f"{b.dtype}{list(b.shape)}")
        return
    numeric = np.issubdtype(a.dtype, np.number) or a.dtype == bool
    same = (
        np.allclose(a, b, rtol=0.0, atol=atol, equal_nan=True) if numeric else np.array_equal(a, b)
    )
    if not same:
        worst = float(np.max(np.abs(a.astype(float) - b.astype(float)))) if numeric else None
        detail = f"max difference {worst:g}" if worst is not None else "different values"
        yield Difference(path, f"{a.dtype}{list(a.shape)}", detail)


def _fields(value: Any) -> list[str] | None:
    """The field names to compare an object by, or None for a plain value."""
    cls = type(value)
    if attrs.has(cls):
        return [f.name for f in attrs.fields(cls)]
    if dataclasses.is_dataclass(value):
        return [f.name for f in dataclasses.fields(value)]
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return sorted(vars(value))
    return None


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float) or _is_numpy_scalar(value)


def _is_numpy_scalar(value: Any) -> bool:
    module = type(value).__module__
    return module == "numpy" and hasattr(value, "dtype") and getattr(value, "shape", None) == ()


def _is_array(value: Any) -> bool:
    return type(value).__module__ == "numpy" and type(value).__name__ == "ndarray"


def _close(a: Any, b: Any, atol: float) -> bool:
    x, y = float(a), float(b)
    if math.isnan(x) and math.isnan(y):
        return True
    return x == y or abs(x - y) <= atol


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # an object whose == raises (or returns an array): compare reprs
        return repr(a) == repr(b)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _difference(
    path: str, a: Any, b: Any, saved: str | None = None, new: str | None = None
) -> Difference:
    return Difference(path or "(task list)", saved or _short(a), new or _short(b))
