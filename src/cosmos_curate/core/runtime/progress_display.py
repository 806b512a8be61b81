"""A live rich table of a running pipeline, and the summary printed at the end."""

from __future__ import annotations

import sys

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from cosmos_curate.core.interfaces.results import PipelineProgress


def _fmt_rate(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_table(progress: PipelineProgress, *, title: str = "pipeline") -> Table:
    """One row per stage: done, failed, speed, workers by state, queue."""
    table = Table(title=title, title_justify="left", expand=False, pad_edge=False)
    table.add_column("stage", overflow="fold")
    for column in ("done", "failed", "tasks/s", "s/task", "workers", "queue"):
        table.add_column(column, justify="right")
    table.caption = "workers: busy/live->target"
    for stage in progress.stages:
        name = Text(stage.name)
        live = stage.workers_busy + stage.workers_idle + stage.workers_starting
        if stage.cpu_fallback:
            name.append(" (CPU fallback)", style="bold red")
        table.add_row(
            name,
            f"{stage.tasks_done:,}",
            Text(f"{stage.tasks_failed:,}", style="red" if stage.tasks_failed else ""),
            _fmt_rate(stage.throughput),
            f"{stage.seconds_per_task:.4f}" if stage.seconds_per_task is not None else "-",
            f"{stage.workers_busy}/{live}->{stage.workers_target}",
            f"{stage.input_queue:,}",
        )
    return table


def progress_footer(progress: PipelineProgress) -> Text:
    """Inputs read, outputs, failures, elapsed time and ETA."""
    inputs = f"{progress.inputs_read:,}" + ("" if progress.input_exhausted else "+")
    text = (
        f"inputs {inputs}  outputs {progress.outputs:,}  failures {progress.failures:,}  "
        f"elapsed {_fmt_duration(progress.elapsed_s)}  ETA {_fmt_duration(progress.eta_s)}"
    )
    lost = sum(s.workers_lost for s in progress.stages)
    if lost:
        text += f"  workers lost {lost} (their tasks re-ran)"
    if progress.inputs_skipped:
        text += f"  skipped {progress.inputs_skipped:,} (done in an earlier run)"
    return Text(text)


class LiveProgress:
    """Redraws the progress table on stderr; `update` is a progress sink."""

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(file=sys.stderr)
        self._live = Live(console=self._console, refresh_per_second=4, transient=False)

    def start(self) -> None:
        """Begin drawing."""
        self._live.start()

    def update(self, progress: PipelineProgress) -> None:
        """Show a new snapshot."""
        self._live.update(Group(progress_table(progress), progress_footer(progress)))

    def stop(self) -> None:
        """Stop drawing; the last table stays on screen."""
        self._live.stop()
