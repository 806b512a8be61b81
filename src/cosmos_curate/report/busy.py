"""Where a run spent its time: set-up vs processing, and each stage's busy time over the run.

A stage's busy share is the rule the live table's `workers run/idle` column and the runtime's
autoscaler (`busy_share`) use: the share of its live workers' time spent inside a call. A
point's `busy` column counts workers with a call in flight, so a single call that runs for
minutes counts as busy at every sample it spans, not only when it ends. A run in process
reports between rounds, when no call is in flight: its stages' busy time is their
`process_s` counter (seconds inside calls, one worker each).
"""

from __future__ import annotations

import itertools

import attrs

from cosmos_curate.report.series import Point, RunSeries

MIN_BUSY_S = 3.0
"""Seconds of busy time (of the busiest stage) below which no bottleneck is named."""
MIN_INPUTS = 4
"""Inputs done below which throughput is not judged against the ideal."""


@attrs.frozen
class StageBusy:
    """One stage's time in calls over the processing part of the run."""

    name: str
    busy_s: float
    """Worker-seconds spent in calls (two workers busy for 1 s: 2 s)."""
    share: float
    """Share of the processing time its workers were in calls (0..1), averaged over workers."""
    tasks: int


@attrs.frozen
class Phases:
    """The run's wall time split into set-up (Ray, workers, models) and processing."""

    wall_s: float
    setup_s: float
    processing_s: float
    stages: tuple[StageBusy, ...]

    @property
    def busiest(self) -> StageBusy | None:
        """The stage with the highest busy share (None without stages)."""
        return max(self.stages, key=lambda s: (s.share, s.busy_s), default=None)

    @property
    def judge_bottleneck(self) -> bool:
        """Whether there was enough processing to name a bottleneck."""
        top = self.busiest
        return top is not None and top.busy_s >= MIN_BUSY_S and self.processing_s >= MIN_BUSY_S


def wall_seconds(series: RunSeries) -> float:
    """The run's one wall time: from the run's start (its folder's marker) to the end record.

    Older series without the run's start fall back to the engine's elapsed time.
    """
    end = series.end or {}
    if end.get("wall_s") is not None:
        return float(end["wall_s"])
    last = series.points[-1].t if series.points else 0.0
    return float(end.get("elapsed_s") or 0.0) or last


def engine_offset(series: RunSeries) -> float:
    """Seconds from the run's start to the engine's t=0 (Ray start, stage checks)."""
    run_started = series.header.get("run_started")
    if run_started is None:
        return 0.0
    return max(0.0, float(series.header.get("started", run_started)) - float(run_started))


def first_call_t(points: list[Point], stages: int) -> float | None:
    """Engine time of the first point with a call in flight or a task done, if any."""
    for point in points:
        if any(point.value(i, "busy") > 0 or point.value(i, "done") > 0 for i in range(stages)):
            return point.t
    return None


def phases(series: RunSeries) -> Phases:
    """Set-up, processing and each stage's busy time, from the recorded points."""
    wall = wall_seconds(series)
    points, n = series.points, len(series.stages)
    start = first_call_t(points, n)
    if start is None or not points:
        empty = tuple(StageBusy(s.name, 0.0, 0.0, 0) for s in series.stages)
        return Phases(wall, wall, 0.0, empty)
    setup = min(wall, engine_offset(series) + start)
    busy = [0.0] * n
    held = [0.0] * n  # seconds (not worker-seconds) weighted by the share of workers busy
    for before, after in itertools.pairwise(p for p in points if p.t >= start):
        dt = after.t - before.t
        for i in range(n):
            busy[i] += (before.value(i, "busy") + after.value(i, "busy")) / 2 * dt
            held[i] += (_busy_share(before, i) + _busy_share(after, i)) / 2 * dt
    span = points[-1].t - start
    processing = max(0.0, wall - setup)
    last = points[-1]
    for i in range(n):
        if busy[i] == 0.0:  # never seen inside a call: the in-process runner reports between
            # rounds, one worker per stage; its counter of seconds in calls is exact
            busy[i] = last.value(i, "process_s")
            held[i] = min(busy[i], span)
    stages = tuple(
        StageBusy(
            stage.name,
            busy[i],
            held[i] / span if span > 0 else 0.0,
            int(last.value(i, "done") + last.value(i, "failed")),
        )
        for i, stage in enumerate(series.stages)
    )
    return Phases(wall, setup, processing, stages)


def _busy_share(point: Point, stage: int) -> float:
    busy = point.value(stage, "busy")
    live = busy + point.value(stage, "idle")
    return busy / live if live > 0 else 0.0
