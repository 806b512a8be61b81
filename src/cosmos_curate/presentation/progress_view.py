"""The one progress view of a pipeline: a rich table of its stages and a line of run totals.

Two sources feed it: a `PipelineProgress` from the runtime (`from_progress`, drawn live by
`run_pipeline(show_progress=True)` and printed at the end of `curate pipeline run`) and a
scrape of the metrics endpoint (`curate metrics tail`, which builds a `ProgressView` from the
`ray_pipeline_*` series). Both go through the same `render`, so they show the same columns.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

import attrs
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.measure import Measurement
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from cosmos_curate.core.interfaces.results import PipelineProgress, StageProgress
from cosmos_curate.presentation.format import format_bytes, format_duration, format_rate

COLUMNS = (
    "stage", "progress", "done", "failed", "tasks/s", "s/task",
    "workers run/idle/pend (target)", "queue in/out", "queued bytes (wait)", "CPU", "memory",
    "GPU (node/idx:share)",
)  # fmt: skip
# Dropped first to last when the table is wider than the terminal; the rest always stay.
DROP_ORDER = (
    "GPU (node/idx:share)", "queued bytes (wait)", "s/task", "memory", "CPU", "queue in/out",
    "tasks/s",
)  # fmt: skip
# Long headers on two lines, so that the table fits 120 columns.
_HEADERS = {
    "workers run/idle/pend (target)": "workers\nrun/idle/pend (target)",
    "queued bytes (wait)": "queued bytes\n(wait)",
    "GPU (node/idx:share)": "GPU\n(node/idx:share)",
}


@attrs.frozen
class StageRow:
    """One stage's numbers as the view shows them, whatever the source."""

    name: str
    progress: float | None
    done: float
    failed: float
    throughput: float
    seconds_per_task: float | None
    workers: Mapping[str, float]
    """Workers by state, named as the `ray_pipeline_actor_count` metric labels them."""
    input_queue: float
    output_queue: float
    cpu_percent: float
    """Percent of one core, summed over the stage's workers."""
    memory_bytes: float
    gpu_alloc: Mapping[str, float]
    """`node/GPU index` -> share of that GPU the stage holds."""
    cpu_fallback: bool = False
    queued_bytes: float = 0.0
    backpressure_wait_s: float = 0.0
    """Seconds the byte budget held the stage back."""
    workers_peak: float = 0.0
    """Most workers the stage had at once (0 where the source does not know)."""
    usage_over_run: tuple[float, float, float, float] | None = None
    """At the end of a run: CPU percent mean and peak, memory bytes mean and peak (the
    workers are gone then, so their current use would read 0); None while it runs."""


@attrs.frozen
class RunTotals:
    """The whole run's numbers under the table; None where the source does not know them."""

    inputs_read: float
    input_exhausted: bool
    outputs: float
    failures: float
    elapsed_s: float
    eta_s: float | None = None
    scheduler_round_s: float = 0.0
    plan_rounds: float = 0.0
    inputs_skipped: float = 0.0
    workers_lost: float = 0.0
    store_used: float = 0.0
    store_capacity: float = 0.0
    spilled: float = 0.0
    cross_node: float = 0.0


@attrs.frozen
class ProgressView:
    """What the view draws: the stages in pipeline order and the run's totals."""

    stages: tuple[StageRow, ...]
    run: RunTotals

    @property
    def overall_progress(self) -> float | None:
        """The last stage's progress: it counts every upstream stage's backlog."""
        known = [s.progress for s in self.stages if s.progress is not None]
        return known[-1] if known else None


# ---- from the runtime's progress records ------------------------------------------------
def _stage_row(stage: StageProgress, fraction: float, finished: bool) -> StageRow:
    gpus: dict[str, float] = {}
    for node, gpu, share in stage.gpu_alloc:
        key = f"{node[:8]}/{gpu}"  # a Ray node id is 56 hex digits; its head tells nodes apart
        gpus[key] = gpus.get(key, 0.0) + share
    return StageRow(
        name=stage.name,
        progress=fraction,
        done=stage.tasks_done,
        failed=stage.tasks_failed,
        throughput=stage.throughput,
        seconds_per_task=stage.seconds_per_task,
        workers={
            "target": stage.workers_target,
            "pending": stage.workers_starting,
            "running": stage.workers_busy,
            "idle": stage.workers_idle,
            "draining": stage.workers_draining,
        },
        input_queue=stage.input_queue,
        output_queue=stage.output_queue,
        cpu_percent=stage.cpu_percent,
        memory_bytes=stage.rss_bytes,
        gpu_alloc=gpus,
        cpu_fallback=stage.cpu_fallback,
        queued_bytes=stage.queued_bytes,
        backpressure_wait_s=stage.backpressure_wait_s,
        workers_peak=stage.workers_peak,
        usage_over_run=(
            stage.cpu_percent_mean, stage.cpu_percent_peak,
            stage.rss_bytes_mean, stage.rss_bytes_peak,
        ) if finished else None,
    )  # fmt: skip


def from_progress(progress: PipelineProgress) -> ProgressView:
    """The view of a runtime progress record."""
    fractions = progress.stage_fractions()
    return ProgressView(
        stages=tuple(
            _stage_row(s, f, progress.finished)
            for s, f in zip(progress.stages, fractions, strict=True)
        ),
        run=RunTotals(
            inputs_read=progress.inputs_read,
            input_exhausted=progress.input_exhausted,
            outputs=progress.outputs,
            failures=progress.failures,
            elapsed_s=progress.elapsed_s,
            eta_s=progress.eta_s,
            scheduler_round_s=progress.scheduler_round_seconds,
            plan_rounds=progress.plan_rounds,
            inputs_skipped=progress.inputs_skipped,
            workers_lost=sum(s.workers_lost for s in progress.stages),
            store_used=progress.object_store_used_bytes,
            store_capacity=progress.object_store_capacity_bytes,
            spilled=progress.spilled_bytes,
            cross_node=progress.cross_node_bytes,
        ),
    )


# ---- rendering ---------------------------------------------------------------------------
def _num(value: float) -> str:
    return f"{value:,.0f}"


def _workers(row: StageRow) -> str:
    w = row.workers
    if row.workers_peak and not any(w.get(s, 0) for s in ("running", "idle", "pending")):
        return f"used {row.workers_peak:.0f}"  # the run ended: its workers are retired
    return (
        f"{w.get('running', 0):.0f}/{w.get('idle', 0):.0f}/{w.get('pending', 0):.0f} "
        f"({w.get('target', 0):.0f})"
    )


def _gpus(row: StageRow) -> str:
    if not row.gpu_alloc:
        return "-"
    return " ".join(f"{gpu}:{share:.2g}" for gpu, share in sorted(row.gpu_alloc.items()))


def _bytes_wait(row: StageRow) -> str:
    text = format_bytes(row.queued_bytes)
    wait = row.backpressure_wait_s
    if wait >= 0.05:  # under a minute in seconds: `0:00` would hide a short wait
        text += f" ({wait:.1f} s)" if wait < 60 else f" ({format_duration(wait)})"
    return text


def stage_table(view: ProgressView, title: str, columns: tuple[str, ...] = COLUMNS) -> Table:
    """One row per stage: progress, counts, speed, workers, queues, CPU, memory, GPUs.

    `columns`: which of `COLUMNS` to show (in their order); stage names never wrap.
    """
    table = Table(title=title, title_justify="left")
    for column in columns:
        header = _HEADERS.get(column, column)
        if column == "stage":
            table.add_column(header, justify="left", no_wrap=True)
        else:
            table.add_column(header, justify="right", no_wrap=True)
    for row in view.stages:
        cells = dict(zip(COLUMNS, _cells(row), strict=True))
        table.add_row(*(cells[column] for column in columns))
    return table


def _cells(row: StageRow) -> tuple[RenderableType, ...]:
    name = Text(row.name)
    if row.cpu_fallback:
        name.append(" (CPU fallback)", style="bold red")
    cpu, memory = _usage(row)
    return (
        name,
        "-" if row.progress is None else f"{row.progress:.0%}",
        _num(row.done),
        Text(_num(row.failed), style="red" if row.failed else ""),
        format_rate(row.throughput),
        "-" if row.seconds_per_task is None else f"{row.seconds_per_task:.4f}",
        _workers(row),
        f"{_num(row.input_queue)}/{_num(row.output_queue)}",
        _bytes_wait(row),
        cpu,
        memory,
        _gpus(row),
    )


class FittedStageTable:
    """The stage table with as many columns as the terminal's width allows (`DROP_ORDER`)."""

    def __init__(self, view: ProgressView, title: str) -> None:
        self.view = view
        self.title = title

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        columns = list(COLUMNS)
        if all(not row.gpu_alloc for row in self.view.stages):
            columns.remove("GPU (node/idx:share)")  # no GPU anywhere: say nothing about it
        table = stage_table(self.view, self.title, tuple(columns))
        unbounded = options.update(max_width=10_000)  # the table's own width, not the screen's
        for column in DROP_ORDER:
            if Measurement.get(console, unbounded, table).maximum <= options.max_width:
                break
            if column in columns:
                columns.remove(column)
                table = stage_table(self.view, self.title, tuple(columns))
        yield table


def _usage(row: StageRow) -> tuple[str, str]:
    """CPU and memory cells: now while running; `mean/peak` over the run at its end."""
    if row.usage_over_run is None:
        return f"{row.cpu_percent / 100:.2f} cores", format_bytes(row.memory_bytes)
    cpu_mean, cpu_peak, rss_mean, rss_peak = row.usage_over_run
    return (
        f"{cpu_mean / 100:.2f}/{cpu_peak / 100:.2f} cores",
        f"{format_bytes(rss_mean)}/{format_bytes(rss_peak)}",
    )


def totals_line(run: RunTotals) -> Text:
    """Inputs read, outputs, failures, elapsed time, ETA and the driver loop's numbers."""
    inputs = _num(run.inputs_read) + ("" if run.input_exhausted else "+")
    text = (
        f"inputs {inputs}  outputs {_num(run.outputs)}  failures {_num(run.failures)}  "
        f"elapsed {format_duration(run.elapsed_s)}  ETA {format_duration(run.eta_s)}  "
        f"scheduler round {run.scheduler_round_s * 1000:.1f} ms  "
        f"plan rounds {_num(run.plan_rounds)}"
    )
    if run.store_capacity:
        text += (
            f"\nobject store {format_bytes(run.store_used)} of {format_bytes(run.store_capacity)}"
            f"  spilled {format_bytes(run.spilled)}  cross-node {format_bytes(run.cross_node)}"
        )
    if run.workers_lost:
        text += f"  workers lost {_num(run.workers_lost)} (their tasks re-ran)"
    if run.inputs_skipped:
        text += f"  skipped {_num(run.inputs_skipped)} (done in an earlier run)"
    return Text(text)


def overall(view: ProgressView) -> Table:
    """The overall progress bar, then the run's totals."""
    fraction = view.overall_progress
    grid = Table.grid(padding=(0, 1))
    grid.add_row(
        Text("overall"),
        ProgressBar(total=1.0, completed=fraction or 0.0, width=40),
        Text("-" if fraction is None else f"{fraction:.0%}"),
    )
    grid.add_row(Text(""), totals_line(view.run), Text(""))
    return grid


def render(view: ProgressView, title: str = "pipeline") -> RenderableType:
    """The whole view: the stage table, then the overall bar and totals."""
    return Group(FittedStageTable(view, title), overall(view))


class LiveProgress:
    """Redraws the view on stderr (or `console`); `update` is a progress sink of the runtime."""

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(file=sys.stderr)
        self._live = Live(console=self._console, refresh_per_second=4, transient=False)

    def start(self) -> None:
        """Begin drawing."""
        self._live.start()

    def update(self, progress: PipelineProgress) -> None:
        """Show a new progress record."""
        self._live.update(render(from_progress(progress)))

    def stop(self) -> None:
        """Stop drawing; the last view stays on screen."""
        self._live.stop()


__all__ = [
    "COLUMNS",
    "DROP_ORDER",
    "FittedStageTable",
    "LiveProgress",
    "ProgressView",
    "RunTotals",
    "StageRow",
    "from_progress",
    "overall",
    "render",
    "stage_table",
    "totals_line",
]
