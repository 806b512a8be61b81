"""A failed task stops the run with upstream's error, unless its stage ignores failures."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from cosmos_curate.core.interfaces.errors import PipelineExecutionError, TaskFailedError
from cosmos_curate.core.interfaces.results import FailureRecord
from cosmos_curate.core.runtime.errors import StageSetupError
from cosmos_curate.core.runtime.failure_policy import execution_error
from cosmos_curate.core.runtime.wire import pickled_error

RECORD = FailureRecord(
    stage="Decode",
    error="ValueError: moov atom not found",
    traceback="Traceback ...",
    attempts=2,
    task_repr="VideoTask(path='a.mp4',\n  frames=" + "x" * 500 + ")",
)


def test_the_error_names_stage_task_cause_and_records(tmp_path: Path) -> None:
    """One line: stage, a short task repr, attempts, error type, records path; then the
    cause in upstream's `(Original error: ...)` form."""
    error = execution_error("Decode", RECORD, tmp_path / "f.jsonl", pickled_error(ValueError("x")))
    text = str(error)
    assert "\n" not in text
    assert text.startswith("stage Decode failed on task VideoTask(path='a.mp4', frames=xxx")
    assert "after 2 attempt(s) with ValueError" in text
    assert f"failure records in {tmp_path / 'f.jsonl'}" in text
    assert text.endswith("(Original error: x)")
    assert isinstance(error.original_error, ValueError)
    assert (error.stage, error.task_repr) == ("Decode", RECORD.task_repr)


def test_an_exception_that_cannot_travel_is_stood_in_for() -> None:
    """No pickled exception (or one the driver cannot load): the record's line is the cause."""
    error = execution_error("Decode", RECORD, None, b"not a pickle")
    assert isinstance(error.original_error, TaskFailedError)
    assert str(error).endswith("(Original error: ValueError: moov atom not found)")


def test_upstream_constructor_str_and_pickling() -> None:
    """`PipelineExecutionError(message, original_error)` as upstream; fields survive pickle."""
    assert str(PipelineExecutionError("boom")) == "boom"
    error = PipelineExecutionError("failed", KeyError("k"), stage="S", failures_path="/f")
    clone = pickle.loads(pickle.dumps(error))
    assert str(clone) == str(error) == "failed (Original error: 'k')"
    assert (clone.stage, clone.failures_path) == ("S", "/f")


def test_setup_failures_are_execution_errors_too() -> None:
    """Code catching upstream's PipelineExecutionError also catches a stage that cannot set up."""
    with pytest.raises(PipelineExecutionError):
        raise StageSetupError("stage X: stage_setup failed 1 time(s)")
