"""`curate metrics tail`: a live table of a running pipeline, read from its metrics endpoint.

The endpoint is Ray's metrics export port (`settings.DEFAULT_METRICS_PORT` for the embedded
cluster, unless taken), in Prometheus' text format; the pipeline's series are the
`ray_pipeline_*` ones that `cosmos_curate.core.runtime.metrics` records.
"""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import RenderableType
from rich.live import Live
from rich.text import Text

from cosmos_curate.cli.common import out, wide_out
from cosmos_curate.cli.metrics_url import DEFAULT_URL, check_metrics_url, discovered_url
from cosmos_curate.core.runtime.errors import MetricsUnavailableError
from cosmos_curate.core.runtime.metric_table import EXPORT_PREFIX, NAME_PREFIX, Scrape, parse_scrape
from cosmos_curate.core.utils.settings import DEFAULT_METRICS_PORT
from cosmos_curate.presentation.progress_view import ProgressView, RunTotals, StageRow, render

PREFIX = EXPORT_PREFIX + NAME_PREFIX
HINT = (
    "is a pipeline running? `curate pipeline run NAME` exports on port "
    f"{DEFAULT_METRICS_PORT} "
    "(--metrics-port to change); on a cluster, point --url at the node's metrics export port"
)

app = typer.Typer(help="Watch a running pipeline's metrics.", no_args_is_help=True)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Metrics endpoint, http(s) (default: the running pipeline's, else port "
        f"{DEFAULT_METRICS_PORT}).",
    ),
]
IntervalOption = Annotated[
    float, typer.Option("--interval", min=0.2, help="Seconds between refreshes.")
]
OnceOption = Annotated[
    bool, typer.Option("--once", help="Print one snapshot and exit (for scripts).")
]


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
    except http.client.HTTPException as exc:  # something listens, but does not speak HTTP
        kind = type(exc).__name__
        msg = f"{url} does not answer in HTTP ({kind}): not a metrics endpoint; {HINT}"
        raise MetricsUnavailableError(msg) from exc
    except ValueError as exc:  # a malformed URL
        msg = f"not a usable URL: {url} ({exc})"
        raise MetricsUnavailableError(msg) from exc
    return body.decode("utf-8", errors="replace")


def parse(text: str, url: str = DEFAULT_URL) -> ProgressView:
    """The progress view of the `ray_pipeline_*` samples, summed by stage over every series.

    Raises `MetricsUnavailableError` when the text is not Prometheus metrics or holds no
    pipeline series (Ray runs, but no pipeline has reported yet).
    """
    try:
        scrape = parse_scrape(text)
    except ValueError as exc:
        msg = f"{url} does not serve Prometheus metrics ({exc})"
        raise MetricsUnavailableError(msg) from exc
    if not scrape.values:
        msg = f"{url} serves metrics, but none from a pipeline (no {PREFIX}* series); {HINT}"
        raise MetricsUnavailableError(msg)
    return ProgressView(stages=tuple(_row(scrape, name) for name in scrape.stages()),
                        run=_totals(scrape))


def _row(scrape: Scrape, name: str) -> StageRow:
    progress = scrape.samples("progress", name)
    seconds = scrape.samples("process_time", name)
    return StageRow(
        name=name,
        progress=min(progress) if progress else None,
        done=scrape.total("finished", name),
        failed=scrape.total("failed", name),
        throughput=scrape.total("throughput", name),
        seconds_per_task=sum(seconds) / len(seconds) if seconds else None,
        workers=scrape.by_extra("actor_count", name),
        input_queue=scrape.total("input_queue", name),
        output_queue=scrape.total("output_queue", name),
        cpu_percent=scrape.total("resource_usage", name, "cpu"),
        memory_bytes=scrape.total("resource_usage", name, "memory"),
        gpu_alloc=scrape.by_extra("gpu_alloc", name),
        queued_bytes=scrape.total("queued_bytes", name),
        backpressure_wait_s=scrape.total("backpressure_wait", name),
    )


def _totals(scrape: Scrape) -> RunTotals:
    return RunTotals(
        inputs_read=scrape.total("inputs_read"),
        input_exhausted=bool(scrape.total("input_exhausted")),
        outputs=scrape.total("outputs"),
        failures=scrape.total("failures"),
        elapsed_s=scrape.total("elapsed"),
        scheduler_round_s=scrape.total("scheduler_round_time"),
        plan_rounds=scrape.total("plan_rounds"),
        store_used=scrape.total("store_used"),
        store_capacity=scrape.total("store_capacity"),
        spilled=scrape.total("spilled"),
        cross_node=scrape.total("node_bytes", "", "cross_node"),
    )


def read(url: str) -> RenderableType:
    """Fetch, parse and render once; `MetricsUnavailableError` when there is nothing to show."""
    return render(parse(fetch(url), url), title=f"pipeline metrics @ {url}")


def _waiting(message: str, interval: float) -> Text:
    return Text(f"{message}\nretrying every {interval:g} s; Ctrl-C to stop", style="yellow")


@app.command("tail")
def tail(
    url: UrlOption = None,
    interval: IntervalOption = 2.0,
    once: OnceOption = False,
) -> None:
    """Show the pipeline's stages live: speed, workers, queues, CPU, memory, GPUs, failures."""
    url = check_metrics_url(url) if url is not None else discovered_url()
    if once:  # nothing to show: `MetricsUnavailableError`, one line and exit 1
        wide_out().print(read(url))
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
    console = wide_out()
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


__all__ = ["MetricsUnavailableError", "app", "fetch", "parse", "read"]
