"""One pipeline run: weights check, Ray connection, engine, failure log, journal, displays."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import attrs

from cosmos_curate.core import runs
from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.interfaces.results import PipelineResult
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageSpec,
    as_stage_spec,
)
from cosmos_curate.core.runtime import instruments, ray_connection
from cosmos_curate.core.runtime.engine import StreamingEngine
from cosmos_curate.core.runtime.failures import FailureLog
from cosmos_curate.core.runtime.journal import ResumeJournal
from cosmos_curate.core.runtime.metrics import PipelineMetrics
from cosmos_curate.core.runtime.run_options import RunOptions
from cosmos_curate.core.runtime.run_sinks import (
    ProgressSink,
    finished_result,
    start_live_display,
    start_recorder,
)
from cosmos_curate.core.runtime.saved_stage import check_request
from cosmos_curate.core.runtime.stage_save import StageSaver
from cosmos_curate.core.runtime.stage_spec import (
    ResolvedStage,
    embedded_cpus,
    resolve_stages,
    unique_stage_names,
)
from cosmos_curate.core.weights.check import check_weights as check_stage_weights
from cosmos_curate.report.warning_log import WarningLog

logger = logging.getLogger(__name__)


def execute(
    input_tasks: Iterable[Any],
    stages: Sequence[CuratorStage[Any, Any] | CuratorStageSpec],
    options: RunOptions,
) -> PipelineResult:
    """`execute_pipeline`'s body: check the stages and options, then run a session."""
    specs = [as_stage_spec(s) for s in stages]
    if not specs:
        msg = "run_pipeline needs at least one stage"
        raise CurateError(msg)
    if options.resume and options.checkpoint_dir is None:
        msg = "resume needs a checkpoint folder: pass --checkpoint-dir DIR"
        raise CurateError(msg)
    if options.stage_save:
        names = unique_stage_names([spec.stage.name for spec in specs])
        check_request(names, options.stage_save, options.stage_save_sample_rate)
    if options.num_cpus is None:
        options = attrs.evolve(options, num_cpus=embedded_cpus(specs))
    return run_session(specs, input_tasks, options)


def connect_for(specs: list[CuratorStageSpec], options: RunOptions) -> ray_connection.RayConnection:
    """The Ray a run of `specs` with `options` uses; `close()` it when the run ends.

    The connected one, else the address given, else an embedded cluster (sized to the
    stages' CPUs when `options.num_cpus` is unset).
    """
    cpus = options.num_cpus if options.num_cpus is not None else embedded_cpus(specs)
    return ray_connection.connect(
        options.ray_address,
        num_cpus=cpus,
        num_gpus=options.num_gpus,
        metrics_port=options.metrics_port,
    )


def run_session(
    specs: list[CuratorStageSpec], input_tasks: Iterable[Any], options: RunOptions
) -> PipelineResult:
    """Run `specs` over `input_tasks`; everything opened here is closed on any exit."""
    if options.check_weights:
        check_stage_weights(
            [s.stage for s in specs],
            download_missing=options.download_missing,
            s3_prefix=options.model_weights_prefix,
        )
    run_dir = options.run_dir or runs.create_run("run_pipeline").folder
    failures_path = options.failures_path or run_dir / "failures.jsonl"
    with ExitStack() as stack:
        warning_log = stack.enter_context(WarningLog().attached())
        failure_log = FailureLog(failures_path)
        stack.callback(failure_log.close)
        journal = None
        if options.checkpoint_dir is not None:
            journal = ResumeJournal(options.checkpoint_dir, resume=options.resume)
            stack.callback(journal.close)
        sinks: list[ProgressSink] = [*options.progress_callbacks, PipelineMetrics()]
        connection = connect_for(specs, options)
        stack.callback(connection.close)
        nodes = ray_connection.node_capacities()
        resolved = resolve_stages(
            specs,
            cluster_gpus=sum(n.gpus for n in nodes),
            cluster_cpus=sum(n.cpus for n in nodes),
            require_gpu=options.require_gpu,
            run_dir=run_dir,
            weights_on_node=options.weights_policy,
            ignore_failures=options.ignore_failures,
        )
        resolved, tracer = instruments.attach(stack, resolved, options, run_dir)
        recorder = start_recorder(
            stack, run_dir, resolved, nodes, failures_path, warnings=warning_log.messages
        )
        sinks.append(recorder)
        if options.show_progress:
            sinks.append(start_live_display(stack))
        engine = StreamingEngine(
            resolved, failure_log, options=options.engine, sinks=sinks, journal=journal,
            saver=stage_saver(resolved, options, run_dir), tracer=tracer)  # fmt: skip
        outputs = engine.run(input_tasks)
        progress = engine.progress(finished=True)
    return finished_result(outputs, progress, failure_log, recorder)


def stage_saver(
    resolved: list[ResolvedStage], options: RunOptions, run_dir: Path
) -> StageSaver | None:
    """The saver of the stages `stage_save` names (their manifests written now), or None."""
    if not options.stage_save:
        return None
    return StageSaver(resolved, options.stage_save, options.stage_save_sample_rate, run_dir)
