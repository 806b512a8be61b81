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

`known_errors()` maps exception types to their exit code and hint; an exception takes the
row of the first class along its MRO that has one. A `CurateError` is a problem the user
can fix found before work starts (exit 2) unless its class (or a base) has a run row
(exit 1). OS errors (a missing file, a permission) are rejections too, unless they happen
inside `work_started()`, which turns them into `RunIOError` (exit 1).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

import attrs

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.presentation.format import first_line

EXIT_OK = 0
EXIT_RUN_ERROR = 1
EXIT_REJECTED = 2
EXIT_FAILED_INPUTS = 3
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class Terminated(BaseException):
    """SIGTERM arrived: unwinds the command (its clean-up runs) like Ctrl-C does."""


class RunIOError(CurateError):
    """A file or permission error met after a command's work started (exit 1, not 2).

    `str()` is the original error's first line and hint; the original is its `__cause__`.
    """


@attrs.frozen
class Row:
    """How the CLI treats one exception type: its exit code and what to try next."""

    exit_code: int
    hint: str = ""


@attrs.frozen
class UserError:
    """What the CLI prints for a known exception, and the exit code."""

    message: str
    exit_code: int


# OS errors that are the user's to fix (a path, a permission): their row and hint.
_OS_ROWS: dict[type[BaseException], Row] = {
    FileNotFoundError: Row(EXIT_REJECTED, "check the path"),
    PermissionError: Row(EXIT_REJECTED, "check the file permissions"),
    IsADirectoryError: Row(EXIT_REJECTED, "give a file, not a folder"),
    NotADirectoryError: Row(EXIT_REJECTED, "check the path"),
}


@functools.cache
def known_errors() -> dict[type[BaseException], Row]:
    """The table: exception type -> row. Built on first use.

    The error modules are imported here rather than at the top so that `curate --help`
    does not load the packages they live in (the image package imports Docker's client).
    """
    from cosmos_curate.core.interfaces.errors import PipelineExecutionError
    from cosmos_curate.core.runtime.errors import (
        ClusterTooSmallError,
        MetricsUnavailableError,
        StageReplayError,
        StageSetupError,
    )
    from cosmos_curate.core.weights.errors import (
        CorruptDownloadError,
        HubUnreachableError,
        S3WeightsError,
    )
    from cosmos_curate.image.errors import BuildFailedError, PushFailedError

    resume = (
        "with --checkpoint-dir, fix it and rerun with --resume to skip finished inputs; "
        "--ignore-failures records failed inputs and goes on"
    )
    return {
        CurateError: Row(EXIT_REJECTED),
        RunIOError: Row(EXIT_RUN_ERROR),
        PipelineExecutionError: Row(EXIT_RUN_ERROR, resume),
        StageSetupError: Row(EXIT_RUN_ERROR),
        StageReplayError: Row(EXIT_RUN_ERROR, "rerun with --pdb to debug it here"),
        ClusterTooSmallError: Row(EXIT_RUN_ERROR),
        MetricsUnavailableError: Row(EXIT_RUN_ERROR),
        BuildFailedError: Row(EXIT_RUN_ERROR),
        PushFailedError: Row(EXIT_RUN_ERROR),
        CorruptDownloadError: Row(EXIT_RUN_ERROR, "run `curate model download` again to resume"),
        HubUnreachableError: Row(EXIT_RUN_ERROR),
        S3WeightsError: Row(EXIT_RUN_ERROR),
        **_OS_ROWS,
    }


def row_of(exc_type: type[BaseException]) -> Row | None:
    """The row of `exc_type`: its own or its nearest base's along the MRO; None if unknown."""
    table = known_errors()
    for cls in exc_type.__mro__:
        if cls in table:
            return table[cls]
    return None


def classify(exc: BaseException) -> UserError | None:
    """The line and exit code for a known exception; None for an unknown one (a bug)."""
    row = row_of(type(exc))
    if row is None:
        return None
    return UserError(_with_hint(first_line(exc), row.hint), row.exit_code)


@contextmanager
def work_started() -> Iterator[None]:
    """Wrap a command's work once it has started: OS errors in it exit 1 (`RunIOError`)."""
    try:
        yield
    except tuple(_OS_ROWS) as exc:
        known = classify(exc)
        msg = known.message if known is not None else first_line(exc)
        raise RunIOError(msg) from exc


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


def _with_hint(text: str, hint: str) -> str:
    return f"{text}; {hint}" if hint else text
