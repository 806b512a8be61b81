"""`run_pipeline`: run a list of stages over input tasks on Ray."""

from __future__ import annotations

import logging
import math
import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageSpec,
    PipelineTask,
    as_stage_spec,
)
from cosmos_curate.core.utils import settings

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[Any], None]


@attrs.frozen
class PipelineResult:
    """What a run produced: outputs (if collected), counts, and where failures went."""

    outputs: list[Any]
    num_outputs: int
    num_failures: int
    failures_path: Path | None
    progress: Any


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
    `engine_options`. Each worker node also makes sure it has the weights, once per node,
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
    progress_callbacks: Iterable[ProgressCallback] = (),
    engine_options: Any = None,
) -> PipelineResult:
    """Like `run_pipeline`, but returns a `PipelineResult` with counts and paths."""
    # Ray is imported here so that defining stages never needs it.
    from cosmos_curate.core.runtime import cluster
    from cosmos_curate.core.runtime.engine import StreamingEngine
    from cosmos_curate.core.runtime.failures import FailureLog
    from cosmos_curate.core.runtime.resolved import resolve_stages
    from cosmos_curate.core.runtime.worker import WeightsPolicy
    from cosmos_curate.core.utils.weights_check import check_weights as check_stage_weights

    specs = [as_stage_spec(s) for s in stages]
    if not specs:
        msg = "run_pipeline needs at least one stage"
        raise ValueError(msg)
    if check_weights:
        check_stage_weights(
            [s.stage for s in specs],
            download_missing=download_missing,
            s3_prefix=model_weights_prefix,
        )
    run_id = uuid.uuid4().hex[:12]
    run_dir = settings.runs_root() / run_id
    path = Path(failures_path) if failures_path is not None else run_dir / "failures.jsonl"
    failure_log = FailureLog(path)
    sinks = list(progress_callbacks)
    from cosmos_curate.core.runtime.metrics import PipelineMetrics

    sinks.append(PipelineMetrics())  # Prometheus metrics on Ray's metrics export port
    display = None
    if show_progress:
        from cosmos_curate.core.runtime.progress_display import LiveProgress

        display = LiveProgress()
        sinks.append(display.update)
    connection = cluster.connect(
        ray_address,
        num_cpus=num_cpus if num_cpus is not None else _embedded_cpus(specs),
        num_gpus=num_gpus,
        metrics_port=metrics_port,
    )
    try:
        nodes = cluster.node_capacities()
        resolved = resolve_stages(
            specs,
            cluster_gpus=sum(n.gpus for n in nodes),
            require_gpu=require_gpu,
            run_dir=run_dir,
            weights_on_node=WeightsPolicy(download_missing, model_weights_prefix)
            if check_weights
            else None,
        )
        if engine_options is None:
            from cosmos_curate.core.runtime.engine import EngineOptions

            engine_options = EngineOptions(collect_outputs=collect_outputs)
        engine = StreamingEngine(resolved, failure_log, options=engine_options, sinks=sinks)
        if display is not None:
            display.start()
        outputs = engine.run(input_tasks)
        progress = engine.progress(finished=True)
    finally:
        if display is not None:
            display.stop()
        failure_log.close()
        connection.close()
    if failure_log.total:
        logger.warning("%d task(s) failed; records in %s", failure_log.total, path)
    return PipelineResult(
        outputs=outputs,
        num_outputs=progress.outputs,
        num_failures=failure_log.total,
        failures_path=path if failure_log.total else None,
        progress=progress,
    )


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
