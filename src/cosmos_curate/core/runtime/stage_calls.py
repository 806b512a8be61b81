"""One stage set up and called without Ray: shared by the in-process runner and its helper.

`set_up_stage` runs `setup_on_node` then `setup` with the stage's set-up attempts;
`call_stage` hands it lists of at most `stage_batch_size` tasks, each batch with the stage's
run attempts (a retry on a pristine copy), and passes every batch that fails all of them to
`on_failure` as one record per task; `in_rounds` cuts the inputs into the rounds both carry.
Imports no Ray.
"""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

import attrs

from cosmos_curate.core.interfaces.results import FailureRecord
from cosmos_curate.core.interfaces.stage_interface import NodeInfo, WorkerMetadata
from cosmos_curate.core.runtime.attempts import run_with_retries
from cosmos_curate.core.runtime.errors import StageSetupError
from cosmos_curate.core.runtime.stage_spec import ResolvedStage

OnFailure = Callable[[ResolvedStage, list[FailureRecord], BaseException | None], None]
"""Called with a stage, the records of a batch that failed every attempt and the last error;
it may raise to stop the run."""


@attrs.define
class StageCounts:
    """What one stage did so far."""

    done: int = 0
    produced: int = 0
    failed: int = 0
    busy_s: float = 0.0


def set_up_stage(stage: ResolvedStage) -> None:
    """`setup_on_node`, then `setup`, as one worker would.

    A set-up that raises is tried again up to the stage's `setup_attempts`, then raises
    `StageSetupError`.
    """
    metadata = WorkerMetadata(worker_id=str(os.getpid()), stage_name=stage.name)
    attempts = max(1, stage.setup_attempts)
    for attempt in range(1, attempts + 1):
        try:
            stage.stage.setup_on_node(NodeInfo("local"), metadata)
            stage.stage.setup(metadata)
            return
        except Exception as exc:
            if attempt < attempts:
                continue
            msg = (
                f"stage {stage.name}: stage_setup failed {attempt} time(s) "
                f"({attempt} in a row): {type(exc).__name__}: {exc}"
            )
            raise StageSetupError(msg) from exc


def call_stage(
    stage: ResolvedStage, counts: StageCounts, tasks: list[Any], on_failure: OnFailure
) -> list[Any]:
    """`tasks` through `stage`, batch by batch; its outputs (a failed batch gives none)."""
    outputs: list[Any] = []
    size = max(1, stage.batch_size)
    for first in range(0, len(tasks), size):
        batch = tasks[first : first + size]
        started = time.monotonic()
        pristine = pickle.dumps(batch) if stage.run_attempts > 1 else b""
        result, records, _, error = run_with_retries(
            stage.stage, stage.name, stage.run_attempts, batch, partial(pickle.loads, pristine)
        )
        counts.busy_s += time.monotonic() - started
        if records:
            counts.failed += len(batch)
            on_failure(stage, records, error)
            continue
        counts.done += len(batch)
        counts.produced += len(result)
        outputs.extend(result)
    return outputs


def in_rounds(tasks: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Lists of up to `size` tasks from `tasks`, read lazily."""
    source = iter(tasks)
    while chunk := [task for _, task in zip(range(size), source, strict=False)]:
        yield chunk
