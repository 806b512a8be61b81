"""One pipeline run: weights check, Ray connection, engine, failure log, journal, displays."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import attrs

from cosmos_curate.core.interfaces.results import PipelineResult
from cosmos_curate.core.interfaces.stage_interface import CuratorStageSpec
from cosmos_curate.core.runtime import ray_connection
from cosmos_curate.core.runtime.checkpoint import CheckpointJournal
from cosmos_curate.core.runtime.engine import EngineOptions, ProgressSink, StreamingEngine
from cosmos_curate.core.runtime.failures import FailureLog
from cosmos_curate.core.runtime.metrics import PipelineMetrics
from cosmos_curate.core.runtime.resolved import resolve_stages
from cosmos_curate.core.runtime.worker import WeightsPolicy
from cosmos_curate.core.utils import settings
from cosmos_curate.core.weights.check import check_weights as check_stage_weights

logger = logging.getLogger(__name__)


@attrs.frozen
class RunConfig:
    """Every option of a run, resolved (see `run_pipeline` for their meaning)."""

    ray_address: str | None = None
    require_gpu: bool = False
    failures_path: Path | None = None
    show_progress: bool = False
    metrics_port: int | None = settings.DEFAULT_METRICS_PORT
    num_cpus: float | None = None
    num_gpus: float | None = None
    collect_outputs: bool = True
    check_weights: bool = True
    download_missing: bool = False
    model_weights_prefix: str | None = None
    checkpoint_dir: Path | None = None
    resume: bool = False
    progress_callbacks: tuple[Callable[[Any], None], ...] = ()
    engine_options: EngineOptions | None = None

    @property
    def weights_policy(self) -> WeightsPolicy | None:
        """How nodes get weights, or None when weights are not checked."""
        if not self.check_weights:
            return None
        return WeightsPolicy(self.download_missing, self.model_weights_prefix)


def run_session(
    specs: list[CuratorStageSpec], input_tasks: Iterable[Any], config: RunConfig
) -> PipelineResult:
    """Run `specs` over `input_tasks`; everything opened here is closed on any exit."""
    if config.check_weights:
        check_stage_weights(
            [s.stage for s in specs],
            download_missing=config.download_missing,
            s3_prefix=config.model_weights_prefix,
        )
    run_dir = settings.runs_root() / uuid.uuid4().hex[:12]
    failures_path = config.failures_path or run_dir / "failures.jsonl"
    with ExitStack() as stack:
        failure_log = FailureLog(failures_path)
        stack.callback(failure_log.close)
        journal = None
        if config.checkpoint_dir is not None:
            journal = CheckpointJournal(config.checkpoint_dir, resume=config.resume)
            stack.callback(journal.close)
        sinks: list[ProgressSink] = [*config.progress_callbacks, PipelineMetrics()]
        connection = ray_connection.connect(
            config.ray_address,
            num_cpus=config.num_cpus,
            num_gpus=config.num_gpus,
            metrics_port=config.metrics_port,
        )
        stack.callback(connection.close)
        resolved = resolve_stages(
            specs,
            cluster_gpus=sum(n.gpus for n in ray_connection.node_capacities()),
            require_gpu=config.require_gpu,
            run_dir=run_dir,
            weights_on_node=config.weights_policy,
        )
        if config.show_progress:
            from cosmos_curate.presentation.progress_view import LiveProgress

            display = LiveProgress()
            sinks.append(display.update)
            display.start()
            stack.callback(display.stop)
        options = config.engine_options or EngineOptions(collect_outputs=config.collect_outputs)
        engine = StreamingEngine(
            resolved, failure_log, options=options, sinks=sinks, journal=journal
        )
        outputs = engine.run(input_tasks)
        progress = engine.progress(finished=True)
    if failure_log.total:
        logger.warning("%d task(s) failed; records in %s", failure_log.total, failures_path)
    return PipelineResult(
        outputs=outputs,
        num_outputs=progress.outputs,
        num_failures=failure_log.total,
        failures_path=failures_path if failure_log.total else None,
        progress=progress,
    )
