"""One way to write sizes, durations, rates and an error's first line, everywhere."""

from __future__ import annotations

import pytest

from cosmos_curate.presentation.format import (
    first_line,
    format_bytes,
    format_duration,
    format_rate,
)


@pytest.mark.parametrize(
    ("num_bytes", "shown"),
    [
        (0, "0 B"),
        (1, "1 B"),
        (1023, "1,023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (1024**2 - 1, "1.0 MiB"),  # rounds up into the next unit, never "1,024.0 KiB"
        (1024**2, "1.0 MiB"),
        (13_000_000, "12.4 MiB"),
        (10 * 1024**3, "10.0 GiB"),
        (3 * 1024**4, "3.0 TiB"),
        (1024**8, "1.0 YiB"),
        (2048 * 1024**8, "2,048.0 YiB"),  # past the last unit the number grows
        (-2048, "-2.0 KiB"),
        (1023.7, "1.0 KiB"),  # a fractional byte count that rounds to 1024
    ],
)
def test_bytes_in_iec_units(num_bytes: float, shown: str) -> None:
    """Sizes are powers of 1024 labelled KiB/MiB/GiB: the label says what the number means."""
    assert format_bytes(num_bytes) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "-"),
        (0, "0:00"),
        (59.9, "0:59"),
        (61, "1:01"),
        (3599, "59:59"),
        (3600, "1:00:00"),
        (100 * 3600 + 5, "100:00:05"),
        (-3, "0:00"),
    ],
)
def test_durations(seconds: float | None, shown: str) -> None:
    """m:ss under an hour, h:mm:ss above, `-` while unknown."""
    assert format_duration(seconds) == shown


def test_rates() -> None:
    """One decimal for slow stages, whole numbers with separators for fast ones."""
    assert format_rate(0.0) == "0.0"
    assert format_rate(12.345) == "12.3"
    assert format_rate(1234.5) == "1,234"


def test_first_line_of_exceptions_and_messages() -> None:
    """An error shows its first non-blank line; a bare exception its type; cut on request."""
    assert first_line(ValueError("bad input\nTraceback ...")) == "bad input"
    assert first_line(ValueError("\n  padded  \nrest")) == "padded"
    assert first_line(TimeoutError()) == "TimeoutError"
    assert first_line("RuntimeError: boom\n  at x") == "RuntimeError: boom"
    assert first_line("") == ""
    assert first_line(ValueError("x" * 500), max_chars=200) == "x" * 200
