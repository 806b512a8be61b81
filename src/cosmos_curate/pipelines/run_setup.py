"""A pipeline call's run: its id and folder, and the run options pointing there."""

from __future__ import annotations

import attrs

from cosmos_curate.core.runs import Run, failures_file, run_for
from cosmos_curate.core.runtime.run_options import RunOptions


def bind_run(
    pipeline: str, run_options: RunOptions | None, output_path: str
) -> tuple[Run, RunOptions]:
    """The run `run_options.run_dir` names (else a new one), and the options set to it.

    The options returned carry the run's folder and its failure records file
    (`failures_file` under `output_path`, unless `failures_path` was given).
    """
    given = RunOptions() if run_options is None else run_options
    run = run_for(pipeline, given.run_dir)
    failures = given.failures_path or failures_file(run, output_path)
    return run, attrs.evolve(given, run_dir=run.folder, failures_path=failures)


__all__ = ["bind_run"]
