"""`--dry-run`'s output: the plan on stdout (a table, or one JSON object), problems on stderr."""

from __future__ import annotations

from typing import Any

import attrs
from rich.table import Table

from cosmos_curate.cli import run_checks
from cosmos_curate.cli.common import out, print_error, print_note, wide_out
from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.runtime.errors import StoreFractionError
from cosmos_curate.core.runtime.run_options import RunOptions
from cosmos_curate.pipelines import registry
from cosmos_curate.pipelines.dry_run import DryRunPlan, StagePlan, plan_run
from cosmos_curate.pipelines.sketch import PipelineSketch
from cosmos_curate.presentation.format import format_bytes


def show_plan(plan: DryRunPlan, *, as_json: bool) -> int:
    """Print the plan; returns the exit code (0: it would run, 2: it would not)."""
    if as_json:
        out.print_json(data=plan.as_dict())
    else:
        _print_plan(plan)
    for problem in plan.problems:
        print_error(problem)
    return 0 if plan.would_run else 2


def _print_plan(plan: DryRunPlan) -> None:
    cluster = plan.cluster
    where = (
        f"the Ray cluster at {cluster.address}"
        if cluster.kind == "connected"
        else "an embedded Ray cluster on this machine"
    )
    _line(f"{plan.pipeline}: dry run (nothing started)")
    _line(
        f"cluster:  {where}: {len(cluster.nodes)} node(s), "
        f"{cluster.cpus:g} CPUs, {cluster.gpus:g} GPUs"
    )
    wide_out().print(_stages_table(plan))
    inputs = plan.inputs
    if inputs is not None:
        size = f", {format_bytes(inputs.bytes)}" if inputs.bytes is not None else ""
        _line(f"inputs:   {inputs.count} {inputs.what}{size} from {inputs.where}")
        for name in inputs.first:
            _line(f"          {name}")
        if inputs.count > len(inputs.first):
            _line(f"          ... and {inputs.count - len(inputs.first)} more")
    _line(f"outputs:  {plan.outputs or 'none'}")
    _line(f"run:      a new folder under {plan.runs_folder}")
    for note in plan.notes:
        print_note(f"note: {note}")
    _line("would run" if plan.would_run else f"would not run: {len(plan.problems)} problem(s)")


def _line(text: str) -> None:
    out.print(text, soft_wrap=True)


def _stages_table(plan: DryRunPlan) -> Table:
    several = len({s.run for s in plan.stages}) > 1
    table = Table(title="stages", title_justify="left")
    if several:
        table.add_column("run")
    for column in ("stage", "CPUs", "GPUs", "workers", "per node", "model", "weights", "env"):
        table.add_column(column)
    for stage in plan.stages:
        row = [str(stage.run + 1)] if several else []
        table.add_row(*row, *_cells(stage))
    return table


def _cells(stage: StagePlan) -> list[str]:
    gpus = f"{stage.gpus:g}"
    if stage.declared_gpus != stage.gpus:
        gpus += f" (declared {stage.declared_gpus:g}, CPU fallback)"
    workers = f"{stage.workers}" + ("" if stage.autoscaled else " fixed")
    weights = ", ".join(
        f"{w.model_id}: {'present' if w.present else 'MISSING'}" for w in stage.weights
    )
    env = "-"
    if stage.conda_env:
        env = f"{stage.conda_env}: {'present' if stage.conda_env_present else 'missing'}"
    per_node = " ".join(str(n) for n in stage.workers_per_node)
    return [
        stage.name, f"{stage.cpus:g}", gpus, workers, per_node, stage.model or "-",
        weights or "-", env,
    ]  # fmt: skip


def dry_run(
    entry: registry.PipelineEntry,
    options: Any,
    values: dict[str, Any],
    run_fields: dict[str, Any],
) -> int:
    """`pipeline run NAME --dry-run`: check, plan and print; returns the exit code.

    The run options' own checks (numbers, paths, port) are problems of the plan rather
    than a stop at the first one, so every problem is listed.
    """
    problems = []
    try:
        run_checks.check_run(values)
    except CurateError as exc:
        problems.append(str(exc))
    try:
        run = RunOptions(**run_fields)
    except StoreFractionError as exc:  # a problem of the plan; the default plans the rest
        problems.append(str(exc))
        run = RunOptions(**{**run_fields, "object_store_fraction": None})
    if entry.describe is None:
        problems.append(
            f"pipeline {entry.name} has no dry run: its register_pipeline call names no "
            "describe function (see docs/PIPELINE_DESIGN_GUIDE.md)"
        )
        sketch = PipelineSketch(())
    else:
        sketch = entry.describe(options)
    sketch = attrs.evolve(sketch, problems=(*problems, *sketch.problems))
    return show_plan(plan_run(entry.name, sketch, run), as_json=values["as_json"])
