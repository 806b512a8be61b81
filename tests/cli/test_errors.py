"""The CLI's error table: every `CurateError` in the package has a row and an exit code."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import cosmos_curate
from cosmos_curate.cli import errors
from cosmos_curate.core.interfaces.errors import CurateError

# The errors met while the work runs (exit 1); every other CurateError rejects (exit 2).
RUN_ERRORS = {
    "BuildFailedError",
    "ClusterTooSmallError",
    "CorruptDownloadError",
    "HubUnreachableError",
    "MetricsUnavailableError",
    "PipelineExecutionError",
    "PushFailedError",
    "RunIOError",
    "S3WeightsError",
    "StageReplayError",
    "StageSetupError",
}


def _subclasses(cls: type[BaseException]) -> set[type[BaseException]]:
    found: set[type[BaseException]] = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def _every_curate_error() -> set[type[BaseException]]:
    for module in pkgutil.walk_packages(cosmos_curate.__path__, "cosmos_curate."):
        importlib.import_module(module.name)
    return {c for c in _subclasses(CurateError) if c.__module__.startswith("cosmos_curate.")}


def test_every_curate_error_has_a_row_and_its_exit_code() -> None:
    """Each CurateError in src maps (its own row or a base's) to 1 for run errors, else 2."""
    classes = _every_curate_error()
    assert len(classes) > 40
    codes = {}
    for cls in classes:
        row = errors.row_of(cls)
        assert row is not None, f"{cls.__qualname__} has no row in cli.errors"
        codes[cls.__name__] = row.exit_code
    assert {name for name, code in codes.items() if code == errors.EXIT_RUN_ERROR} == RUN_ERRORS
    assert set(codes.values()) == {errors.EXIT_RUN_ERROR, errors.EXIT_REJECTED}


def test_the_table_holds_classes_not_names() -> None:
    """Keys are the exception types themselves: a renamed class fails the import, not a user."""
    table = errors.known_errors()
    assert all(isinstance(key, type) and issubclass(key, BaseException) for key in table)
    assert {cls.__name__ for cls, row in table.items() if row.exit_code == 1} == RUN_ERRORS


def test_a_file_error_after_the_work_started_exits_1_with_its_line(tmp_path: Path) -> None:
    """A missing file rejects a command (2) before its work starts and fails the run (1) after."""
    missing = tmp_path / "gone.txt"
    with pytest.raises(FileNotFoundError) as before:
        missing.read_text()
    assert errors.exit_code_of(before.value) == errors.EXIT_REJECTED
    with pytest.raises(errors.RunIOError) as after, errors.work_started():
        missing.read_text()
    assert errors.exit_code_of(after.value) == errors.EXIT_RUN_ERROR
    known = errors.classify(after.value)
    assert known is not None
    assert str(missing) in known.message
    assert known.message.endswith("; check the path")


def test_an_unknown_exception_has_no_row() -> None:
    """A bug (an exception nobody declared) keeps its traceback: no row, exit 1."""
    assert errors.classify(RuntimeError("boom")) is None
    assert errors.exit_code_of(RuntimeError("boom")) == errors.EXIT_RUN_ERROR
