"""Known exceptions, the one line each prints, and the exit code every command uses.

Exit codes (README "Exit codes", DESIGN.md section 5), one table for every command:

| code | meaning                                                                          |
|------|----------------------------------------------------------------------------------|
| 0    | every input processed                                                            |
| 1    | the run stopped on an error (`PipelineExecutionError`, a stage whose setup fails)|
| 2    | rejected before anything started: bad option, path, port (one `error:` line)    |
| 3    | finished, but stages marked `ignore_failures` recorded failed inputs             |
| 130  | interrupted (SIGINT, Ctrl-C)                                                     |
| 143  | terminated (SIGTERM)                                                             |

A `CurateError` is a problem the user can fix, found before work starts (exit 2) unless
its class is listed in `RUN_ERRORS` (exit 1). Classes are matched by name along the MRO so
that errors defined in modules the CLI does not import (or not yet) map too.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.presentation.format import first_line

EXIT_OK = 0
EXIT_RUN_ERROR = 1
EXIT_REJECTED = 2
EXIT_FAILED_INPUTS = 3
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

# Errors met while the work runs (after the start): exit 1. Names, not classes (see above).
RUN_ERRORS: dict[str, str] = {
    "PipelineExecutionError": "with --checkpoint-dir, fix it and rerun with --resume to skip "
    "finished inputs; --ignore-failures records failed inputs and goes on",
    "StageSetupError": "",
    "ClusterTooSmallError": "",
    "BuildFailedError": "",
    "PushFailedError": "",
    "CorruptDownloadError": "run `curate model download` again to resume",
    "HubUnreachableError": "",
    "S3WeightsError": "",
}

# Exceptions that are not CurateErrors but are the user's to fix: hint appended.
HINTS: dict[type[BaseException], str] = {
    CurateError: "",
    FileNotFoundError: "check the path",
    PermissionError: "check the file permissions",
    IsADirectoryError: "give a file, not a folder",
    NotADirectoryError: "check the path",
}


class Terminated(BaseException):
    """SIGTERM arrived: unwinds the command (its clean-up runs) like Ctrl-C does."""


@attrs.frozen
class UserError:
    """What the CLI prints for a known exception, and the exit code."""

    message: str
    exit_code: int


_phase = {"started": False}


def mark_started(started: bool = True) -> None:
    """Called by a command when its work starts: file errors from then on exit 1, not 2."""
    _phase["started"] = started


def classify(exc: BaseException) -> UserError | None:
    """The line and exit code for a known exception; None for an unknown one (a bug)."""
    names = [cls.__name__ for cls in type(exc).__mro__]
    for name in names:
        if name in RUN_ERRORS:
            return UserError(_with_hint(first_line(exc), RUN_ERRORS[name]), EXIT_RUN_ERROR)
    for exc_type, hint in HINTS.items():
        if isinstance(exc, exc_type):
            late = _phase["started"] and not isinstance(exc, CurateError)
            code = EXIT_RUN_ERROR if late else EXIT_REJECTED
            return UserError(_with_hint(first_line(exc), hint), code)
    return None


def signal_behind(exc: BaseException) -> BaseException | None:
    """The KeyboardInterrupt or Terminated that `exc` is, or that caused it.

    A signal raised while a C extension (Ray's core worker) runs comes back wrapped, e.g.
    as a `SystemError` whose context is the signal's exception.
    """
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return None
        if isinstance(seen, KeyboardInterrupt | Terminated):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def exit_code_of(exc: BaseException) -> int:
    """The exit code `curate` ends with for `exc` (1 for unknown errors)."""
    exc = signal_behind(exc) or exc
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, Terminated):
        return EXIT_TERMINATED
    known = classify(exc)
    return known.exit_code if known is not None else EXIT_RUN_ERROR


def user_message(exc: BaseException) -> str | None:
    """One line for a known exception, or None for an unknown one (a bug: re-raise it)."""
    known = classify(exc)
    return known.message if known is not None else None


def register_hint(exc_type: type[BaseException], hint: str) -> Callable[[], None]:
    """Add a known exception type (for command groups with their own errors)."""
    HINTS[exc_type] = hint

    def unregister() -> None:
        HINTS.pop(exc_type, None)

    return unregister


def _with_hint(text: str, hint: str) -> str:
    return f"{text}; {hint}" if hint else text
