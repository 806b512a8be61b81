"""The displays a run's progress goes to: the live table and the run report's recorder.

Shared by the Ray session and the in-process runner; imports no Ray.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

from cosmos_curate.core import runs
from cosmos_curate.core.interfaces.results import PipelineProgress
from cosmos_curate.core.runtime.planner import NodeCapacity
from cosmos_curate.core.runtime.stage_spec import ResolvedStage
from cosmos_curate.report import RunRecorder, StageInfo

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
