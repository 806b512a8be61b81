"""What a task that failed every attempt does to the run: stop it (default) or go on.

As in upstream Cosmos-Curate, a failed task stops the run with `PipelineExecutionError`
unless its stage ignores failures (`ignore_failures=True` on the spec, or the run-wide
option). The failure record is written first either way. The engine stops every worker
before the error leaves `run_pipeline`; the failed task's input is not marked done in the
resume journal, so a rerun with `--resume` retries it and skips what finished.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cosmos_curate.core.interfaces.errors import PipelineExecutionError, TaskFailedError
from cosmos_curate.core.interfaces.results import FailureRecord
from cosmos_curate.core.runtime.stage_spec import ResolvedStage

TASK_IN_MESSAGE = 120
"""Characters of the failed task's repr in the error's one line."""


def stop_unless_ignored(
    stage: ResolvedStage,
    records: Sequence[FailureRecord],
    failures_path: Path | None,
    original: BaseException | bytes | None = None,
) -> None:
    """Raise `PipelineExecutionError` for the first record unless the stage ignores failures.

    `original` is the exception (or the worker's pickled one) behind the first record.
    """
    if stage.ignore_failures or not records:
        return
    raise execution_error(stage.name, records[0], failures_path, original)


def execution_error(
    stage_name: str,
    record: FailureRecord,
    failures_path: Path | None,
    original: BaseException | bytes | None = None,
) -> PipelineExecutionError:
    """The error that stops the run: stage, task, cause and where the records are."""
    cause = _rebuild(original) or TaskFailedError(record.error)
    task = " ".join(record.task_repr.split())
    if len(task) > TASK_IN_MESSAGE:
        task = task[: TASK_IN_MESSAGE - 3] + "..."
    error_type = record.error.split(":", 1)[0]
    where = f"; failure records in {failures_path}" if failures_path else ""
    message = (
        f"stage {stage_name} failed on task {task} after {record.attempts} attempt(s) "
        f"with {error_type}{where}"
    )
    return PipelineExecutionError(
        message,
        cause,
        stage=stage_name,
        task_repr=record.task_repr,
        failures_path=str(failures_path) if failures_path else None,
    )


def _rebuild(original: BaseException | bytes | None) -> BaseException | None:
    if original is None or isinstance(original, BaseException):
        return original
    try:
        from ray import cloudpickle  # only to rebuild a worker's error: no Ray import otherwise

        error = cloudpickle.loads(original)
    except Exception:  # its class lives in an env the driver lacks: the record stands in
        return None
    return error if isinstance(error, BaseException) else None
