"""What a run adds around its stages when asked: profiles and traces (`RunOptions`)."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from cosmos_curate.core import runs
from cosmos_curate.core.runtime.profiling import with_profiles
from cosmos_curate.core.runtime.run_options import RunOptions
from cosmos_curate.core.runtime.stage_spec import ResolvedStage
from cosmos_curate.core.runtime.tracing import TaskTracer


def attach(
    stack: ExitStack, stages: list[ResolvedStage], options: RunOptions, run_dir: Path
) -> tuple[list[ResolvedStage], TaskTracer | None]:
    """The stages with their workers' profile requests, and the run's tracer (or None).

    The tracer's spans are ended and sent when `stack` closes, whatever the outcome.
    """
    stages = with_profiles(stages, options.profile, run_dir)
    if options.otlp_endpoint is None:
        return stages, None
    run = runs.read_run(run_dir)
    tracer = TaskTracer(
        options.otlp_endpoint,
        run.id if run is not None else run_dir.name,
        run.pipeline if run is not None else "run_pipeline",
    )
    stack.push(tracer.exit)
    return stages, tracer
