"""How numbers and errors read on screen: byte sizes, durations, rates, an error's first line.

One formatter per kind, used by every table and message of the CLI and the progress view, so
that the same quantity always reads the same way. Sizes use IEC units (powers of 1024,
labelled KiB, MiB, GiB, ...).
"""

from __future__ import annotations

_IEC_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")
_STEP = 1024.0


def format_bytes(num_bytes: float) -> str:
    """`num_bytes` in IEC units: `0 B`, `1,023 B`, `1.0 KiB`, `1.5 MiB`, `2.0 GiB`.

    Whole bytes below 1 KiB; one decimal above. A value that would round up to 1024.0 of a
    unit is shown in the next one (`1.0 MiB`, never `1,024.0 KiB`); past YiB the number
    grows. Negative values keep their sign.
    """
    sign = "-" if num_bytes < 0 else ""
    value = abs(float(num_bytes))
    if round(value) < _STEP:
        return f"{sign}{value:,.0f} B"
    for unit in _IEC_UNITS[1:]:
        value /= _STEP
        if round(value, 1) < _STEP or unit == _IEC_UNITS[-1]:
            return f"{sign}{value:,.1f} {unit}"
    raise AssertionError  # pragma: no cover - the loop returns at the last unit


def format_duration(seconds: float | None) -> str:
    """`m:ss` below an hour, `h:mm:ss` from there on; `-` when unknown (None).

    Fractions of a second are dropped; a negative duration reads as `0:00`.
    """
    if seconds is None:
        return "-"
    total = max(0, int(seconds))
    minutes, secs = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_rate(per_second: float) -> str:
    """A throughput: one decimal below 100 (`12.5`), whole numbers above (`1,234`)."""
    return f"{per_second:,.1f}" if per_second < 100 else f"{per_second:,.0f}"


def first_line(error: BaseException | str, *, max_chars: int | None = None) -> str:
    """The first non-blank line of an error (an exception or its message), stripped.

    An exception with no message reads as its type's name; an empty string stays empty.
    `max_chars` cuts a very long line (a server's whole answer on one line).
    """
    text = str(error).strip()
    if not text:
        return type(error).__name__ if isinstance(error, BaseException) else ""
    line = text.splitlines()[0].strip()
    return line if max_chars is None else line[:max_chars]


__all__ = ["first_line", "format_bytes", "format_duration", "format_rate"]
