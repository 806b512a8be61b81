"""A run's summary (what `--json` prints) and its log, published into the run folder."""

from __future__ import annotations

import json
import time
from typing import Any

from cosmos_curate.core.interfaces.results import PipelineResult
from cosmos_curate.core.runs.run import Run
from cosmos_curate.core.storage import publish_text


def run_summary(
    run: Run,
    result: PipelineResult | None,
    exit_code: int,
    outputs_path: str | None,
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The run's summary: counts, per-stage numbers, exit code and where things went.

    `config`: the run's options (what `--print-config` writes), recorded as given.
    """
    summary: dict[str, Any] = {
        "pipeline": run.pipeline,
        "run_id": run.id,
        "exit_code": exit_code,
        "elapsed_s": round(time.time() - run.started, 3),
        "run_folder": str(run.folder),
        "log": str(run.log),
        "outputs_path": outputs_path,
    }
    if config is not None:
        summary["config"] = config
    if result is None:
        return summary
    if result.wall_s is not None:  # the figure the run's report shows
        summary["elapsed_s"] = result.wall_s
    summary.update(
        num_outputs=result.num_outputs,
        num_failures=result.num_failures,
        failures_path=str(result.failures_path) if result.failures_path else None,
        stages=[
            {
                "name": s.name,
                "tasks_done": s.tasks_done,
                "tasks_failed": s.tasks_failed,
                "tasks_produced": s.tasks_produced,
                "seconds_per_task": s.seconds_per_task,
                "backpressure_wait_s": round(s.backpressure_wait_s, 3),
            }
            for s in result.progress.stages
        ],
        object_store_peak_bytes=result.progress.object_store_peak_bytes,
        spilled_bytes=result.progress.spilled_bytes,
        cross_node_bytes=result.progress.cross_node_bytes,
    )
    return summary


def save_run(run: Run, summary: dict[str, Any], log: str) -> None:
    """Publish the run's log and then its summary (a run with a summary has ended)."""
    publish_text(run.log, log)
    publish_text(run.summary, json.dumps(summary, indent=2) + "\n")
