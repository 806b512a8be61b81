"""`report.html`: one self-contained page (plotly.js inlined) for one run, or runs side by side.

No server and no network: the page carries plotly's offline bundle and the figures' data.
"""

from __future__ import annotations

import html
import importlib.util
import json
import time
from pathlib import Path
from typing import Any

from cosmos_curate.core.storage import publish_text
from cosmos_curate.presentation.format import format_duration, format_rate
from cosmos_curate.report import analysis, busy, charts, profile_card
from cosmos_curate.report.series import RunSeries, read_series

CHART_TITLES = {
    "throughput": "Throughput",
    "workers": "Workers and planner decisions",
    "queues": "Queues",
    "gpu": "GPU busy share",
    "cpu": "CPU",
    "memory": "Memory",
}
STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;
background:#fafafa}h1{font-size:22px;margin:0 0 12px}h2{font-size:17px;margin:26px 0 8px;
border-bottom:1px solid #ddd;padding-bottom:4px}.grid{display:grid;gap:16px}
.card{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:12px}
table{border-collapse:collapse;font-size:14px}td,th{padding:3px 10px 3px 0;text-align:left;
vertical-align:top}th{color:#555;font-weight:600}.ok{color:#197a2c}.bad{color:#b3261e}
.note{color:#555;font-size:14px;margin:6px 0}pre{white-space:pre-wrap;font-size:12px;
background:#f3f3f3;padding:6px;margin:4px 0;max-height:240px;overflow:auto}
.sentence{font-size:15px;margin:8px 0}code{font-size:13px}
"""


def plotly_bundle() -> str:
    """plotly.js (minified), from the installed `plotly` package; no plotly import needed."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        msg = "the report needs the plotly package: pip install plotly"
        raise RuntimeError(msg)
    bundle = Path(next(iter(spec.submodule_search_locations)), "package_data", "plotly.min.js")
    return bundle.read_text(encoding="utf-8")


def write_report(folders: list[Path], out: Path) -> Path:
    """Render the runs in `folders` (one, or several side by side) into `out`, durably.

    Raises `OSError` when `out` cannot be written (nothing is left behind then).
    """
    runs = [read_series(folder) for folder in folders]
    page = render_page(runs)
    publish_text(out, page)
    return out


def render_page(runs: list[RunSeries]) -> str:
    """The whole HTML page for `runs`."""
    figures: dict[str, Any] = {}
    columns = f"grid-template-columns:repeat({len(runs)},minmax(0,1fr))"
    parts = [f"<h1>{html.escape(_title(runs))}</h1>"]
    parts.append(_row([_header_card(run) for run in runs], columns))
    parts.append("<h2>Warnings</h2>")
    parts.append(_row([_warnings_card(run) for run in runs], columns))
    per_run = [dict(charts.all_figures(run)) for run in runs]
    for key, title in CHART_TITLES.items():
        parts.append(f"<h2>{title}</h2>")
        cells = []
        for index, run in enumerate(runs):
            cell = _sentence(run) if key == "queues" else ""
            figure = per_run[index][key]
            if figure is None:
                cell += '<p class="note">No GPU stage ran on a GPU in this run.</p>'
            else:
                chart_id = f"chart-{key}-{index}"
                figures[chart_id] = figure
                cell += f'<div class="chart" id="{chart_id}"></div>'
            cells.append(cell)
        parts.append(_row(cells, columns))
    parts.append("<h2>Failures</h2>")
    parts.append(_row([_failures_card(run) for run in runs], columns))
    profiles = profile_card.profiles_section(runs)
    if profiles:  # only for profiled runs (`--profile`)
        parts.append("<h2>Profiles</h2>")
        parts.append(_row(profiles, columns))
    return _document(_title(runs), "\n".join(parts), figures)


def _title(runs: list[RunSeries]) -> str:
    names = " vs ".join(run.name for run in runs)
    return f"curate run report: {names}"


def _row(cells: list[str], columns: str) -> str:
    inner = "".join(f'<div class="card">{cell}</div>' for cell in cells)
    return f'<div class="grid" style="{columns}">{inner}</div>'


def _sentence(run: RunSeries) -> str:
    return f'<p class="sentence">{html.escape(analysis.bottleneck_sentence(run))}</p>'


def _header_card(run: RunSeries) -> str:
    result = analysis.outcome(run)
    timing = busy.phases(run)
    good = result.outcome == "finished" and not result.failures
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.header.get("started", 0)))
    rows = [
        ("run", html.escape(run.name)),
        ("outcome", f'<span class="{"ok" if good else "bad"}">{html.escape(_outcome(result))}'
                    "</span>"),
        ("started", started),
        ("wall time", f"{format_duration(result.wall_s)} ({result.wall_s:.1f} s)"),
        ("set-up / processing", _phases(timing)),
        ("inputs read / done", f"{result.inputs_read:,} / {result.inputs_done:,}"),
        ("outputs", f"{result.outputs:,}"),
        ("failures", f"{result.failures:,}"),
        ("throughput", _rates(result, timing)),
        ("stages", html.escape(", ".join(_stage_label(s) for s in run.stages))),
        ("cluster", html.escape(cluster_text(run))),
        ("command", f"<code>{html.escape(str(run.header.get('command', '')))}</code>"),
    ]  # fmt: skip
    if result.error:
        rows.insert(2, ("error", f'<span class="bad">{html.escape(result.error)}</span>'))
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _outcome(result: analysis.Outcome) -> str:
    if result.outcome == "finished" and result.failures:
        return f"finished; {result.failures:,} task(s) failed (see Failures)"
    return result.outcome


def _stage_label(stage: Any) -> str:
    gpus = f", {stage.gpus:g} GPU" if stage.gpus else ""
    return f"{stage.name} ({stage.cpus:g} CPU{gpus})"


def _phases(timing: busy.Phases) -> str:
    return (
        f"{timing.setup_s:.1f} s set-up (Ray and worker start, model load), then "
        f"{timing.processing_s:.1f} s processing"
    )


def cluster_text(run: RunSeries) -> str:
    """The cluster's size; says why when Ray counted more CPUs than the machine has cores."""
    text = f"{run.cluster_cpus:g} logical CPUs, {run.cluster_gpus:g} GPU(s)"
    cores = int(run.header.get("machine_cores") or 0)
    if int(run.header.get("nodes") or 0) == 1 and 0 < cores < run.cluster_cpus:
        text += (
            f". This machine has {cores} physical cores: Ray counts logical CPUs "
            "(hyper-threads, or what --num-cpus said; an embedded cluster gets at least one "
            "per stage worker), so stage workers shared cores and per-task times include "
            "waiting for one"
        )
    return text


def _rates(result: analysis.Outcome, timing: busy.Phases) -> str:
    if result.achieved_per_s is None:
        return "-"
    text = f"{format_rate(result.achieved_per_s)} inputs/s achieved"
    if result.inputs_done < busy.MIN_INPUTS or timing.processing_s < busy.MIN_BUSY_S:
        return text + (
            f" (too few inputs ({result.inputs_done}) or too short a run to compare with the "
            f"ideal: that needs {busy.MIN_INPUTS}+ inputs and {busy.MIN_BUSY_S:g}+ s "
            "of processing)"
        )
    if result.ideal_per_s:
        share = 100 * result.achieved_per_s / result.ideal_per_s
        text += (
            f", ideal {format_rate(result.ideal_per_s)}/s at the measured costs "
            f"({share:.0f}% of ideal)"
        )
    return text


def _warnings_card(run: RunSeries) -> str:
    warnings = (run.end or {}).get("warnings")
    if warnings is None:
        return '<p class="note">No warnings recorded (the run recorded no end).</p>'
    if not warnings:
        return '<p class="note">No warnings.</p>'
    items = "".join(f"<li>{html.escape(str(w))}</li>" for w in warnings)
    return f'<ul class="warnings">{items}</ul>'


def _failures_card(run: RunSeries) -> str:
    groups = analysis.failure_groups(run)
    if not groups:
        return '<p class="note">No failure records.</p>'
    path = analysis.failures_file(run)
    parts = [f'<p class="note">Records: <code>{html.escape(str(path))}</code></p>']
    for group in groups:
        parts.append(
            f"<h3>{html.escape(group.stage)}: {group.count} x "
            f"<code>{html.escape(group.cause)}</code></h3>"
        )
        for record in group.first:
            parts.append(
                f"<details><summary>{html.escape(record.error[:200])} "
                f"(attempts: {record.attempts})</summary>"
                f"<pre>task: {html.escape(record.task_repr)}</pre>"
                f"<pre>{html.escape(record.traceback)}</pre></details>"
            )
    return "".join(parts)


def _document(title: str, body: str, figures: dict[str, Any]) -> str:
    # "</" inside a script would end it early; JSON allows the escaped form.
    data = json.dumps(figures, separators=(",", ":")).replace("</", "<\\/")
    draw = (
        f"const FIGURES={data};\n"
        "for (const [id, fig] of Object.entries(FIGURES)) {\n"
        "  Plotly.newPlot(id, fig.data, fig.layout, {displaylogo: false, responsive: true});\n"
        "}\n"
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>\n"
        f"<script>{plotly_bundle()}</script></head>\n<body>\n{body}\n"
        f"<script>{draw}</script>\n</body></html>\n"
    )
