"""`curate metrics tail`: a live table of a running pipeline, read from its metrics endpoint.

The endpoint is Ray's metrics export port (9002 for the embedded cluster), in Prometheus'
text format; the pipeline's series are the `ray_pipeline_*` ones that
`cosmos_curate.core.runtime.metrics` records.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from typing import Annotated

import attrs
import typer
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from cosmos_curate.cli.common import err, out

DEFAULT_URL = "http://localhost:9002/metrics"
PREFIX = "ray_pipeline_"
WIDE_OUTPUT = 180
HINT = (
    "is a pipeline running? `curate pipeline run NAME` exports on port 9002 "
    "(--metrics-port to change); on a cluster, point --url at the node's metrics export port"
)

app = typer.Typer(help="Watch a running pipeline's metrics.", no_args_is_help=True)

UrlOption = Annotated[
    str, typer.Option("--url", help="Metrics endpoint (Ray's metrics export port).")
]
IntervalOption = Annotated[
    float, typer.Option("--interval", min=0.2, help="Seconds between refreshes.")
]
OnceOption = Annotated[
    bool, typer.Option("--once", help="Print one snapshot and exit (for scripts).")
]


class MetricsUnavailableError(Exception):
    """Nothing usable is served at the metrics URL (refused, timed out, not metrics, empty)."""


@attrs.frozen
class StageRow:
    """One stage's numbers, summed over every series that carries its name."""

    name: str
    index: float
    progress: float | None
    done: float
    failed: float
    throughput: float
    seconds_per_task: float | None
    workers: dict[str, float]
    input_queue: float
    output_queue: float
    in_flight: float
    cpu_percent: float
    memory_bytes: float
    gpu_alloc: dict[str, float]


@attrs.frozen
class Snapshot:
    """What one read of the endpoint says about the pipeline."""

    stages: tuple[StageRow, ...]
    run: dict[str, float]

    @property
    def overall_progress(self) -> float | None:
        """The last stage's progress: it counts every upstream stage's backlog."""
        known = [s for s in self.stages if s.progress is not None]
        return known[-1].progress if known else None


def fetch(url: str, timeout_s: float = 5.0) -> str:
    """The endpoint's text; `MetricsUnavailableError` with a one-line reason otherwise."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            body: bytes = response.read()
    except urllib.error.HTTPError as exc:
        msg = f"{url} answered HTTP {exc.code} {exc.reason}; {HINT}"
        raise MetricsUnavailableError(msg) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        msg = f"nothing is serving metrics at {url} ({reason}); {HINT}"
        raise MetricsUnavailableError(msg) from exc
    except ValueError as exc:  # a malformed URL
        msg = f"not a usable URL: {url} ({exc})"
        raise MetricsUnavailableError(msg) from exc
    return body.decode("utf-8", errors="replace")


def parse(text: str, url: str = DEFAULT_URL) -> Snapshot:
    """Aggregate the `ray_pipeline_*` samples by stage.

    Raises `MetricsUnavailableError` when the text is not Prometheus metrics or holds no
    pipeline series (Ray runs, but no pipeline has reported yet).
    """
    # (metric, stage, extra label value) -> values of every series (drivers, workers, nodes)
    values: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if not sample.name.startswith(PREFIX):
                    continue
                labels = sample.labels
                extra = labels.get("state") or labels.get("resource") or ""
                if "GpuIndex" in labels:
                    extra = f"{labels.get('NodeAddress', '?')}/{labels['GpuIndex']}"
                key = (sample.name[len(PREFIX) :], labels.get("stage", ""), extra)
                values[key].append(float(sample.value))
    except ValueError as exc:
        msg = f"{url} does not serve Prometheus metrics ({exc})"
        raise MetricsUnavailableError(msg) from exc
    if not values:
        msg = f"{url} serves metrics, but none from a pipeline (no {PREFIX}* series); {HINT}"
        raise MetricsUnavailableError(msg)
    return _snapshot(values)


def _snapshot(values: dict[tuple[str, str, str], list[float]]) -> Snapshot:
    def total(metric: str, stage: str, extra: str = "") -> float:
        return sum(values.get((metric, stage, extra), ()))

    def mean(metric: str, stage: str) -> float | None:
        found = values.get((metric, stage, ""))
        return sum(found) / len(found) if found else None

    names = {stage for (_, stage, _) in values if stage}
    rows = []
    for name in names:
        index = values.get(("stage_index", name, ""))
        progress = values.get(("progress", name, ""))
        rows.append(
            StageRow(
                name=name,
                index=min(index) if index else float("inf"),
                progress=min(progress) if progress else None,
                done=total("tasks_finished", name),
                failed=total("tasks_failed", name),
                throughput=total("stage_throughput", name),
                seconds_per_task=mean("actor_process_time", name),
                workers={
                    extra: sum(v)
                    for (metric, stage, extra), v in values.items()
                    if metric == "actor_count" and stage == name
                },
                input_queue=total("input_queue_size", name),
                output_queue=total("output_queue_size", name),
                in_flight=total("tasks_in_flight", name),
                cpu_percent=total("actor_resource_usage", name, "cpu"),
                memory_bytes=total("actor_resource_usage", name, "memory"),
                gpu_alloc={
                    extra: sum(v)
                    for (metric, stage, extra), v in values.items()
                    if metric == "stage_gpu_alloc" and stage == name
                },
            )
        )
    run = {metric: sum(v) for (metric, stage, _), v in values.items() if not stage}
    rows.sort(key=lambda r: (r.index, r.name))
    return Snapshot(stages=tuple(rows), run=run)


# ---- rendering ---------------------------------------------------------------------------
def _num(value: float) -> str:
    return f"{value:,.0f}"


def _bytes(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{value:,.1f} TiB"  # unreachable; keeps mypy sure of the return


def _workers(row: StageRow) -> str:
    w = row.workers
    return (
        f"{w.get('running', 0):.0f}/{w.get('idle', 0):.0f}/{w.get('pending', 0):.0f} "
        f"({w.get('target', 0):.0f})"
    )


def _gpus(row: StageRow) -> str:
    if not row.gpu_alloc:
        return "-"
    return " ".join(f"{gpu}:{share:.2g}" for gpu, share in sorted(row.gpu_alloc.items()))


def stage_table(snapshot: Snapshot, title: str) -> Table:
    """One row per stage: progress, counts, speed, workers, queues, CPU, memory, GPUs."""
    table = Table(title=title, title_justify="left")
    columns = (
        "stage", "progress", "done", "failed", "tasks/s", "s/task",
        "workers run/idle/pend (target)", "queue in/out", "CPU", "memory", "GPU (node/idx:share)",
    )  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "stage" else "right", no_wrap=True)
    for row in snapshot.stages:
        table.add_row(
            row.name,
            "-" if row.progress is None else f"{row.progress:.0%}",
            _num(row.done),
            Text(_num(row.failed), style="red" if row.failed else ""),
            f"{row.throughput:,.1f}",
            "-" if row.seconds_per_task is None else f"{row.seconds_per_task:.4f}",
            _workers(row),
            f"{_num(row.input_queue)}/{_num(row.output_queue)}",
            f"{row.cpu_percent / 100:.2f} cores",
            _bytes(row.memory_bytes),
            _gpus(row),
        )
    return table


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def overall(snapshot: Snapshot) -> Table:
    """The overall progress bar and the run's totals (inputs, outputs, driver loop)."""
    run = snapshot.run
    fraction = snapshot.overall_progress
    grid = Table.grid(padding=(0, 1))
    grid.add_row(
        Text("overall"),
        ProgressBar(total=1.0, completed=fraction or 0.0, width=40),
        Text("-" if fraction is None else f"{fraction:.0%}"),
    )
    inputs = _num(run.get("inputs_read", 0)) + ("" if run.get("input_exhausted") else "+")
    grid.add_row(
        Text(""),
        Text(
            f"inputs {inputs}  outputs {_num(run.get('outputs', 0))}  "
            f"failures {_num(run.get('failures', 0))}  "
            f"elapsed {_duration(run.get('elapsed_seconds', 0))}  "
            f"scheduler round {run.get('scheduler_round_time', 0) * 1000:.1f} ms  "
            f"plan rounds {_num(run.get('plan_rounds_total', 0))}"
        ),
        Text(""),
    )
    return grid


def render(snapshot: Snapshot, url: str) -> RenderableType:
    """The whole view: the stage table, then the overall bar."""
    return Group(stage_table(snapshot, title=f"pipeline metrics @ {url}"), overall(snapshot))


def read(url: str) -> RenderableType:
    """Fetch, parse and render once; `MetricsUnavailableError` when there is nothing to show."""
    return render(parse(fetch(url), url), url)


def _waiting(message: str, interval: float) -> Text:
    return Text(f"{message}\nretrying every {interval:g} s; Ctrl-C to stop", style="yellow")


def _console() -> Console:
    """stdout; when it is not a terminal, wide enough that no column gets cut (for scripts)."""
    return out if out.is_terminal else Console(width=max(out.width, WIDE_OUTPUT))


@app.command("tail")
def tail(
    url: UrlOption = DEFAULT_URL,
    interval: IntervalOption = 2.0,
    once: OnceOption = False,
) -> None:
    """Show the pipeline's stages live: speed, workers, queues, CPU, memory, GPUs, failures."""
    if once:
        try:
            view = read(url)
        except MetricsUnavailableError as exc:
            err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        _console().print(view)
        return
    _live(url, interval, read)


def _live(url: str, interval: float, reader: Callable[[str], RenderableType]) -> None:
    if not out.is_terminal:  # a pipe or a file: append each snapshot instead of redrawing
        _append(url, interval, reader)
        return
    with Live(console=out, auto_refresh=False) as live:
        try:
            while True:
                try:
                    view = reader(url)
                except MetricsUnavailableError as exc:
                    view = _waiting(str(exc), interval)
                live.update(view, refresh=True)
                time.sleep(interval)
        except KeyboardInterrupt:
            return


def _append(url: str, interval: float, reader: Callable[[str], RenderableType]) -> None:
    console = _console()
    last_problem = ""
    try:
        while True:
            try:
                console.print(reader(url))
                last_problem = ""
            except MetricsUnavailableError as exc:
                if str(exc) != last_problem:  # say it once, not at every retry
                    last_problem = str(exc)
                    console.print(_waiting(last_problem, interval), soft_wrap=True)
            time.sleep(interval)
    except KeyboardInterrupt:
        return


__all__ = ["MetricsUnavailableError", "Snapshot", "StageRow", "app", "fetch", "parse", "read"]
