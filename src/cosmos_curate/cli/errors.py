"""Mapping of known exceptions to one-line user messages, in one table."""

from __future__ import annotations

from collections.abc import Callable

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.presentation.format import first_line

# exception type -> hint appended to its message (empty: the message already says what to do)
HINTS: dict[type[BaseException], str] = {
    CurateError: "",
    FileNotFoundError: "check the path",
    PermissionError: "check the file permissions",
}


def user_message(exc: BaseException) -> str | None:
    """One line for a known exception, or None for an unknown one (a bug: re-raise it)."""
    for exc_type, hint in HINTS.items():
        if isinstance(exc, exc_type):
            text = first_line(exc)
            return f"{text}; {hint}" if hint else text
    return None


def register_hint(exc_type: type[BaseException], hint: str) -> Callable[[], None]:
    """Add a known exception type (for command groups with their own errors)."""
    HINTS[exc_type] = hint

    def unregister() -> None:
        HINTS.pop(exc_type, None)

    return unregister
