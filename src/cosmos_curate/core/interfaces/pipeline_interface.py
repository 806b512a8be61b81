"""`run_pipeline`: run a list of stages over input tasks on Ray."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.interfaces.results import PipelineProgress, PipelineResult
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageSpec,
    PipelineTask,
    as_stage_spec,
)
from cosmos_curate.core.utils import settings

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[PipelineProgress], None]


def run_pipeline(
    input_tasks: Iterable[PipelineTask],
    stages: Sequence[CuratorStage[Any, Any] | CuratorStageSpec],
    **options: Any,
) -> list[PipelineTask]:
    """Run `stages` over `input_tasks` on Ray and return the last stage's outputs.

    `input_tasks` may be any iterable; it is consumed lazily. Options (all keywords):
    `ray_address` (default: the connected cluster, else `RAY_ADDRESS`, else an embedded
    local Ray), `require_gpu` (error instead of CPU fallback), `failures_path` (JSON lines of
    failure records), `show_progress` (live rich display), `metrics_port` (embedded
    cluster's metrics export port, default 9002), `num_cpus`/`num_gpus` (embedded cluster
    size), `collect_outputs` (False: drop the last stage's outputs, for huge runs),
    `check_weights` (default True: fail fast, before any worker starts, when a model's
    weights are missing), `download_missing` (fetch them instead), `model_weights_prefix`
    (`s3://bucket/prefix` to fetch from instead of the hub), `progress_callbacks`,
    `engine_options`, `checkpoint_dir` (journal of the inputs that fully left the pipeline)
    and `resume` (skip the inputs an earlier run's journal lists; the input must come in the
    same order). Each worker node also makes sure it has the weights, once per node,
    before its workers set up (multi-node clusters without a shared weights folder).
    """
    return execute_pipeline(input_tasks, stages, **options).outputs


def execute_pipeline(
    input_tasks: Iterable[PipelineTask],
    stages: Sequence[CuratorStage[Any, Any] | CuratorStageSpec],
    *,
    ray_address: str | None = None,
    require_gpu: bool = False,
    failures_path: str | Path | None = None,
    show_progress: bool = False,
    metrics_port: int | None = settings.DEFAULT_METRICS_PORT,
    num_cpus: float | None = None,
    num_gpus: float | None = None,
    collect_outputs: bool = True,
    check_weights: bool = True,
    download_missing: bool = False,
    model_weights_prefix: str | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    progress_callbacks: Iterable[ProgressCallback] = (),
    engine_options: Any = None,
) -> PipelineResult:
    """Like `run_pipeline`, but returns a `PipelineResult` with counts and paths."""
    # Ray is imported here so that defining stages never needs it.
    from cosmos_curate.core.runtime.session import RunConfig, run_session

    specs = [as_stage_spec(s) for s in stages]
    if not specs:
        msg = "run_pipeline needs at least one stage"
        raise CurateError(msg)
    if resume and checkpoint_dir is None:
        msg = "resume needs a checkpoint folder: pass --checkpoint-dir DIR"
        raise CurateError(msg)
    config = RunConfig(
        ray_address=ray_address,
        require_gpu=require_gpu,
        failures_path=Path(failures_path) if failures_path is not None else None,
        show_progress=show_progress,
        metrics_port=metrics_port,
        num_cpus=num_cpus if num_cpus is not None else _embedded_cpus(specs),
        num_gpus=num_gpus,
        collect_outputs=collect_outputs,
        check_weights=check_weights,
        download_missing=download_missing,
        model_weights_prefix=model_weights_prefix,
        checkpoint_dir=Path(checkpoint_dir) if checkpoint_dir is not None else None,
        resume=resume,
        progress_callbacks=tuple(progress_callbacks),
        engine_options=engine_options,
    )
    return run_session(specs, input_tasks, config)


def _embedded_cpus(specs: list[CuratorStageSpec]) -> float:
    """Logical CPUs for an embedded cluster: this machine's, or enough for one worker per stage.

    A laptop with fewer cores than the pipeline's minimum still runs it (oversubscribed)
    instead of waiting forever for resources that will never appear.
    """
    minimum = 0.0
    for spec in specs:
        workers = spec.num_workers_per_node or spec.num_workers or 1
        minimum += workers * spec.stage.resources.cpus
    return float(max(os.cpu_count() or 1, math.ceil(minimum)))


__all__ = ["PipelineResult", "ProgressCallback", "execute_pipeline", "run_pipeline"]
