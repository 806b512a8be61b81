"""The displays a run's progress goes to: the live table and the run report's recorder.

Shared by the Ray session and the in-process runner; imports no Ray.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from cosmos_curate.core import runs
from cosmos_curate.core.interfaces.results import PipelineProgress, PipelineResult
from cosmos_curate.core.runtime.failures import FailureLog
from cosmos_curate.core.runtime.planner import NodeCapacity
from cosmos_curate.core.runtime.stage_spec import ResolvedStage
from cosmos_curate.report import RunRecorder, StageInfo

logger = logging.getLogger(__name__)

ProgressSink = Callable[[PipelineProgress], None]
"""A function handed each progress record."""


def start_live_display(stack: ExitStack) -> ProgressSink:
    """Draw the live progress table on stderr until `stack` closes; returns its sink."""
    from cosmos_curate.presentation.progress_view import LiveProgress

    display = LiveProgress()
    display.start()
    stack.callback(display.stop)
    return display.update


def start_recorder(
    stack: ExitStack,
    run_dir: Path,
    resolved: list[ResolvedStage],
    nodes: tuple[NodeCapacity, ...],
    failures_path: Path | None,
    *,
    warnings: Sequence[str] = (),
) -> RunRecorder:
    """The run's series recorder (a progress sink); `report.html` on any exit of `stack`.

    `warnings`: the run's logged warnings, listed on the page (read when the run ends).
    """
    run = runs.read_run(run_dir)
    recorder = RunRecorder(
        run_dir,
        [StageInfo(s.name, s.cpus, s.gpus) for s in resolved],
        cluster_cpus=sum(n.cpus for n in nodes),
        cluster_gpus=sum(n.gpus for n in nodes),
        failures_path=failures_path,
        run_started=run.started if run is not None else None,
        nodes=len(nodes),
        warnings=warnings,
    )
    stack.push(recorder.exit)  # done, error or Ctrl-C alike
    return recorder


def finished_result(
    outputs: list[Any],
    progress: PipelineProgress,
    failure_log: FailureLog,
    recorder: RunRecorder,
    *,
    in_process: bool = False,
) -> PipelineResult:
    """The `PipelineResult` of a run that ended; warns where failure records went, if any."""
    failures_path = failure_log.path
    if failure_log.total:
        logger.warning("%d task(s) failed; records in %s", failure_log.total, failures_path)
    return PipelineResult(
        outputs=outputs,
        num_outputs=progress.outputs,
        num_failures=failure_log.total,
        failures_path=failures_path if failure_log.total else None,
        progress=progress,
        report_path=recorder.report_path,
        wall_s=recorder.wall_s,
        in_process=in_process,
    )
