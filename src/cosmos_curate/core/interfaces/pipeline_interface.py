"""`run_pipeline`: run a list of stages over input tasks on Ray.

The public entry point of the runtime. Its options are `RunOptions`' fields, passed as
keywords. Importing this module does not load Ray: the runtime is imported when a pipeline
runs, so defining stages and pipelines never needs it. This is the one module of
`core.interfaces` that reaches into `core.runtime` (the layer it starts); nothing in the
runtime imports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from cosmos_curate.core.interfaces.results import PipelineResult
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageSpec,
    PipelineTask,
)
from cosmos_curate.core.runtime.run_options import ProgressCallback, RunOptions


def run_pipeline(
    input_tasks: Iterable[PipelineTask],
    stages: Sequence[CuratorStage[Any, Any] | CuratorStageSpec],
    **options: Any,
) -> list[PipelineTask]:
    """Run `stages` over `input_tasks` on Ray and return the last stage's outputs.

    `input_tasks` may be any iterable; it is consumed lazily. Options (all keywords, the
    fields of `RunOptions`): `ray_address` (default: the connected cluster, else
    `RAY_ADDRESS`, else an embedded local Ray), `require_gpu` (error instead of CPU
    fallback), `failures_path` (JSON lines of failure records), `show_progress` (live rich
    display), `metrics_port` (embedded cluster's metrics export port, default 9002),
    `num_cpus`/`num_gpus` (embedded cluster size), `collect_outputs` (False: drop the last
    stage's outputs, for huge runs), `check_weights` (default True: fail fast, before any
    worker starts, when a model's weights are missing), `download_missing` (fetch them
    instead), `model_weights_prefix` (`s3://bucket/prefix` to fetch from instead of the
    hub), `progress_callbacks`, `engine_options`, `checkpoint_dir` (journal of the inputs
    that fully left the pipeline) and `resume` (skip the inputs an earlier run's journal
    lists; the input must come in the same order). Each worker node also makes sure it has
    the weights, once per node, before its workers set up (multi-node clusters without a
    shared weights folder).
    """
    return execute_pipeline(input_tasks, stages, **options).outputs


def execute_pipeline(
    input_tasks: Iterable[PipelineTask],
    stages: Sequence[CuratorStage[Any, Any] | CuratorStageSpec],
    **options: Any,
) -> PipelineResult:
    """Like `run_pipeline`, but returns a `PipelineResult` with counts and paths."""
    run_options = RunOptions(**options)
    # Ray is imported here, when a pipeline runs, so that defining stages never needs it.
    from cosmos_curate.core.runtime.session import execute

    return execute(input_tasks, stages, run_options)


__all__ = [
    "PipelineResult",
    "ProgressCallback",
    "RunOptions",
    "execute_pipeline",
    "run_pipeline",
]
