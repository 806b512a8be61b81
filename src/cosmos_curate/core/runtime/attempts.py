"""One batch through `process_data` with the stage's attempts.

Shared by Ray workers and the in-process runner, so both fail, retry and record alike.
Imports no Ray.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from cosmos_curate.core.interfaces.results import FailureRecord, short_repr
from cosmos_curate.core.interfaces.stage_interface import CuratorStage


def run_with_retries(
    stage: CuratorStage[Any, Any],
    stage_name: str,
    attempts: int,
    batch: list[Any],
    reload: Callable[[], list[Any]],
) -> tuple[list[Any], list[FailureRecord], int, BaseException | None]:
    """Outputs, failure records, retries used, and the exception of the last attempt.

    process_data may change tasks before it raises: a retry runs on `reload()`, a pristine
    copy of the batch, so only a retry pays for a copy. A batch that fails all `attempts` is
    one record per task.
    """
    attempts = max(1, attempts)
    for attempt in range(1, attempts + 1):
        work = batch if attempt == 1 else reload()
        try:
            result = stage.process_data(work)
            if result is not None and not isinstance(result, list):
                msg = (
                    f"{stage_name}.process_data must return a list of tasks or None, "
                    f"got {type(result).__name__}"
                )
                raise TypeError(msg)
        except Exception as exc:
            if attempt < attempts:
                continue
            trace, error = traceback.format_exc(), f"{type(exc).__name__}: {exc}"
            records = [
                FailureRecord(
                    stage=stage_name,
                    error=error,
                    traceback=trace,
                    attempts=attempts,
                    task_repr=short_repr(task),
                )
                for task in batch
            ]
            return [], records, attempt - 1, exc
        return result or [], [], attempt - 1, None
    return [], [], 0, None  # unreachable: attempts >= 1
