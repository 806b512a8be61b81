"""The report's charts as plotly figure dicts (data + layout), built from a `RunSeries`.

Plain dicts in plotly's JSON schema: the page hands them to the inlined plotly.js, so
rendering needs no plotly Python import. Every chart puts seconds since the start on x.
"""

from __future__ import annotations

from typing import Any

from cosmos_curate.report.series import Point, RunSeries

Figure = dict[str, Any]
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
MIB = 1024 * 1024
SMOOTH_S = 2.0
"""Throughput is averaged over at least this many seconds (calls finish in bursts)."""


def color(index: int) -> str:
    """The stage's colour, the same in every chart."""
    return PALETTE[index % len(PALETTE)]


PLOT_PX = 230
"""Height of a chart's plot area, in pixels."""
LEGEND_ENTRY_PX = 20
LEGEND_TITLE_LINE_PX = 22
MARGIN = {"l": 60, "r": 20, "t": 6, "b": 45}


def _figure(title: str, y_title: str, data: list[Figure], **extra: Any) -> Figure:
    """The chart, its legend above the plot area with the title as the legend's heading.

    Title lines are split by `<br>`, each short enough for a chart a third of a page wide.

    The legend sits in a band at the top of the figure that Plotly reserves for it (the plot
    area shrinks to make room, never the legend onto the axes), and the figure is tall enough
    for one entry per row, the most a narrow column wraps it to, so the plot area keeps at
    least `PLOT_PX` whatever the page's width.
    """
    entries = sum(1 for trace in data if trace.get("showlegend", True))
    lines = title.count("<br>") + 1
    legend_px = LEGEND_TITLE_LINE_PX * lines + LEGEND_ENTRY_PX * entries
    layout = {
        "xaxis": {"title": {"text": "seconds since start"}, "rangemode": "tozero"},
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
        "height": PLOT_PX + legend_px + MARGIN["t"] + MARGIN["b"],
        "margin": MARGIN,
        "showlegend": True,  # also for one trace: the legend carries the title
        "legend": {
            "orientation": "h",
            "x": 0,
            "xref": "container",
            "xanchor": "left",
            "y": 1,
            "yanchor": "top",
            "yref": "container",
            "title": {"text": title, "side": "top", "font": {"size": 14}},
        },
        "hovermode": "closest",
        "template": "plotly_white",
        **extra,
    }
    return {"data": data, "layout": layout}


def _line(name: str, xs: list[float], ys: list[float], index: int, **style: Any) -> Figure:
    return {
        "type": "scatter",
        "mode": "lines+markers" if len(xs) < 3 else "lines",
        "name": name,
        "x": xs,
        "y": ys,
        "line": {"color": color(index), **style},
    }


def times(series: RunSeries) -> list[float]:
    """The points' times."""
    return [round(p.t, 3) for p in series.points]


def throughput(series: RunSeries) -> Figure:
    """Tasks finished per second per stage, each over the last `SMOOTH_S` seconds or more."""
    data = []
    points = series.points
    for index, stage in enumerate(series.stages):
        xs, ys = [], []
        start = 0
        for after in points[1:]:
            while start + 1 < len(points) and after.t - points[start + 1].t >= SMOOTH_S:
                start += 1
            before = points[start]
            dt = after.t - before.t
            if dt > 0:
                done = after.value(index, "done") - before.value(index, "done")
                xs.append(round(after.t, 3))
                ys.append(round(max(0.0, done) / dt, 3))
        data.append(_line(stage.name, xs, ys, index))
    return _figure(f"Throughput per stage (over {SMOOTH_S:g} s or more)", "tasks / s", data)


def workers(series: RunSeries) -> Figure:
    """Busy, live and target workers per stage, with the planner's decisions marked.

    One legend entry per stage (it shows and hides the stage's three lines together).
    """
    xs, data = times(series), []
    for index, stage in enumerate(series.stages):
        busy = [p.value(index, "busy") for p in series.points]
        live = [_live(p, index) for p in series.points]
        target = [p.value(index, "target") for p in series.points]
        group = {"legendgroup": stage.name}
        data.append({**_line(stage.name, xs, busy, index), **group})
        for name, values, dash in (("live", live, "dash"), ("target", target, "dot")):
            line = _line(f"{stage.name} {name}", xs, values, index, dash=dash, width=1)
            data.append({**line, **group, "showlegend": False})
    data.extend(_event_markers(series))
    title = "Workers per stage<br>busy: solid, live: dashed, target: dotted"
    return _figure(title, "workers", data)


def _live(point: Point, index: int) -> float:
    return sum(point.value(index, f) for f in ("busy", "idle", "starting"))


def _event_markers(series: RunSeries) -> list[Figure]:
    names = [s.name for s in series.stages]
    markers: list[Figure] = []
    kinds = (("plan", "diamond", "planner decision"), ("worker_lost", "x", "worker lost"))
    for kind, symbol, label in kinds:
        events = [e for e in series.events if e.get("type") == kind and e.get("stage") in names]
        if not events:
            continue
        markers.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": label,
                "x": [e["t"] for e in events],
                "y": [e.get("to", 0) for e in events],
                "text": [_event_text(e) for e in events],
                "hoverinfo": "text+x",
                "marker": {
                    "symbol": symbol,
                    "size": 10,
                    "color": [color(names.index(e["stage"])) for e in events],
                    "line": {"width": 1, "color": "#222"},
                },
            }
        )
    return markers


def _event_text(event: dict[str, Any]) -> str:
    if event.get("type") == "plan":
        return f"{event['stage']}: {event['from']} -> {event['to']} workers ({event['why']})"
    return f"{event['stage']}: {event.get('count', 1)} worker(s) lost"


def queues(series: RunSeries) -> Figure:
    """Tasks waiting in front of each stage."""
    xs = times(series)
    data = [
        _line(stage.name, xs, [p.value(i, "in_queue") for p in series.points], i)
        for i, stage in enumerate(series.stages)
    ]
    return _figure("Input queue per stage", "tasks waiting", data)


def gpu_stages(series: RunSeries) -> list[int]:
    """Indexes of the stages whose workers hold GPUs."""
    return [i for i, s in enumerate(series.stages) if s.gpus > 0]


def gpu_busy(series: RunSeries) -> Figure | None:
    """Share of the cluster's GPUs inside calls: busy workers x GPUs per worker / GPUs.

    None when the run had no GPU stage or the cluster no GPU.
    """
    indexes, total = gpu_stages(series), series.cluster_gpus
    if not indexes or total <= 0:
        return None
    xs, stages = times(series), series.stages
    data = []
    for i in indexes:
        ys = [round(100 * p.value(i, "busy") * stages[i].gpus / total, 2) for p in series.points]
        data.append(_line(stages[i].name, xs, ys, i))
    overall = [
        round(100 * min(1.0, sum(p.value(i, "busy") * stages[i].gpus for i in indexes) / total), 2)
        for p in series.points
    ]
    data.append(_line(f"all {total:g} GPU(s)", xs, overall, len(stages), width=3))
    title = f"GPU busy share ({total:g} GPU(s) in the cluster)"
    y_title = "% of GPU time busy"
    return _figure(title, y_title, data, yaxis={"range": [0, 105], "title": {"text": y_title}})


def cpu(series: RunSeries) -> Figure:
    """CPU use of each stage's workers (percent of one core, summed)."""
    xs = times(series)
    data = [
        _line(stage.name, xs, [p.value(i, "cpu_percent") for p in series.points], i)
        for i, stage in enumerate(series.stages)
    ]
    return _figure("CPU per stage (100 = one core)", "% of a core", data)


def memory(series: RunSeries) -> Figure:
    """Resident memory of each stage's workers and of the driver, in MiB."""
    xs = times(series)
    data = [
        _line(stage.name, xs,
              [round(p.value(i, "rss_bytes") / MIB, 1) for p in series.points], i)
        for i, stage in enumerate(series.stages)
    ]  # fmt: skip
    driver = [round(p.driver_rss / MIB, 1) for p in series.points]
    data.append(_line("driver", xs, driver, len(series.stages), dash="dash"))
    return _figure("Memory (resident)", "MiB", data)


def all_figures(series: RunSeries) -> list[tuple[str, Figure | None]]:
    """(chart key, figure or None when it does not apply), in page order."""
    return [
        ("throughput", throughput(series)),
        ("workers", workers(series)),
        ("queues", queues(series)),
        ("gpu", gpu_busy(series)),
        ("cpu", cpu(series)),
        ("memory", memory(series)),
    ]
