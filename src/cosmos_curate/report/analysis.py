"""What the report says in words: the outcome, ideal vs achieved, the bottleneck, failures."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from pathlib import Path

import attrs

from cosmos_curate.core.interfaces.results import FailureRecord, read_failure_records
from cosmos_curate.presentation.format import first_line
from cosmos_curate.report import busy
from cosmos_curate.report.series import Point, RunSeries

QUEUE_BUILT_UP = 1.0
"""Mean tasks waiting in front of a stage from which its queue counts as built up."""
RECORDS_SHOWN = 3
BUSY_ENOUGH = 0.5
"""Busy share from which the busiest stage is named the bottleneck."""


@attrs.frozen
class Outcome:
    """The header's numbers."""

    outcome: str
    error: str | None
    inputs_read: int
    inputs_done: int
    outputs: int
    failures: int
    wall_s: float
    achieved_per_s: float | None
    ideal_per_s: float | None


def outcome(series: RunSeries) -> Outcome:
    """The run's outcome; `killed` when the series has no end record (driver gone)."""
    last = series.points[-1] if series.points else None
    end = series.end or {}
    wall = busy.wall_seconds(series)
    done = int(last.value(0, "done")) if last and series.stages else 0
    return Outcome(
        outcome=str(end.get("outcome", "killed")) if series.end else "killed (no end recorded)",
        error=end.get("error"),
        inputs_read=last.inputs_read if last else 0,
        inputs_done=done,
        outputs=last.outputs if last else 0,
        failures=last.failures if last else 0,
        wall_s=wall,
        achieved_per_s=done / wall if wall > 0 and done else None,
        ideal_per_s=ideal_rate(series, last),
    )


def ideal_rate(series: RunSeries, last: Point | None) -> float | None:
    """Inputs per second the cluster could reach at the measured costs, with no overhead.

    Each stage's seconds per task (process time / tasks done) times the tasks it does per
    input, weighted by the CPUs and GPUs a worker holds; the scarcer resource sets the rate.
    """
    if last is None or not series.stages or last.value(0, "done") <= 0:
        return None
    first = last.value(0, "done")
    cpu_s = gpu_s = 0.0
    for i, stage in enumerate(series.stages):
        done = last.value(i, "done")
        if done <= 0:
            continue
        per_input = last.value(i, "process_s") / done * done / first
        cpu_s += per_input * stage.cpus
        gpu_s += per_input * stage.gpus
    rates = []
    if cpu_s > 0 and series.cluster_cpus > 0:
        rates.append(series.cluster_cpus / cpu_s)
    if gpu_s > 0 and series.cluster_gpus > 0:
        rates.append(series.cluster_gpus / gpu_s)
    return min(rates) if rates else None


def _weighted_means(series: RunSeries, field: str) -> list[float]:
    """Time-weighted mean of a stage field over the run, per stage."""
    points, n = series.points, len(series.stages)
    if len(points) < 2:
        return [points[0].value(i, field) if points else 0.0 for i in range(n)]
    total = points[-1].t - points[0].t or 1.0
    means = [0.0] * n
    for before, after in itertools.pairwise(points):
        dt = after.t - before.t
        for i in range(n):
            means[i] += (before.value(i, field) + after.value(i, field)) / 2 * dt
    return [m / total for m in means]


def bottleneck_sentence(series: RunSeries) -> str:
    """The run's bottleneck in words, named from each stage's busy time over the run.

    The busiest stage (highest share of its workers' time in calls) is named, and only when
    it spent at least `busy.MIN_BUSY_S` in calls: set-up alone (workers starting, models
    loading) never makes a bottleneck.
    """
    if len(series.points) < 2 or not series.stages:
        return "Too few points were recorded to tell where the run waited."
    timing = busy.phases(series)
    top = timing.busiest
    if top is None or not timing.judge_bottleneck:
        spent = f"; its busiest stage spent {top.busy_s:.1f} s in calls" if top else ""
        return (
            f"Too short to judge a bottleneck: {timing.processing_s:.1f} s of processing "
            f"after {timing.setup_s:.1f} s of set-up (Ray and worker start, model "
            f"load){spent}. A bottleneck is named once a stage was busy "
            f"{busy.MIN_BUSY_S:g} s or more."
        )
    index = [s.name for s in series.stages].index(top.name)
    waiting = _weighted_means(series, "in_queue")[index]
    queued = (
        f"; on average {waiting:.1f} tasks waited in front of it"
        if index > 0 and waiting >= QUEUE_BUILT_UP
        else ""
    )
    share = f"{100 * top.share:.0f}%"
    if top.share < BUSY_ENOUGH:
        return (
            f"No stage kept its workers busy most of the time (the busiest, {top.name}, "
            f"was in calls {share} of the processing time): the run waited on its input "
            "or on per-call overheads rather than on one stage."
        )
    return (
        f"{top.name} is the bottleneck: its workers were in calls {share} of the "
        f"processing time ({top.busy_s:.0f} worker-seconds), the most of any stage{queued}."
    )


@attrs.frozen
class FailureGroup:
    """Failures of one stage with one root cause."""

    stage: str
    cause: str
    count: int
    first: tuple[FailureRecord, ...]


def failures_file(series: RunSeries) -> Path | None:
    """Where the run wrote its failure records (None if none were written)."""
    named = series.header.get("failures_path")
    path = Path(named) if named else series.folder / "failures.jsonl"
    return path if path.is_file() else None


def root_cause(record: FailureRecord) -> str:
    """The error's first line with numbers and quoted values masked, so alike errors group."""
    line = first_line(record.error) or "(no message)"
    line = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", line)
    return re.sub(r"\b0x[0-9a-fA-F]+\b|\d+(\.\d+)?", "N", line)[:300]


def failure_groups(series: RunSeries) -> list[FailureGroup]:
    """Failures grouped by stage and root cause, largest group first."""
    path = failures_file(series)
    if path is None:
        return []
    records = read_failure_records(path)
    counts = Counter((r.stage, root_cause(r)) for r in records)
    groups = []
    for (stage, cause), count in counts.most_common():
        first = tuple(r for r in records if r.stage == stage and root_cause(r) == cause)
        groups.append(FailureGroup(stage, cause, count, first[:RECORDS_SHOWN]))
    return groups
